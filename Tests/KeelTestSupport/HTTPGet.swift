import Foundation

/// GET over plain HTTP/1.0 on loopback (for the /metrics and /healthz endpoints in tests).
public enum HTTPScrape {
    public static func get(port: Int, path: String = "/metrics") async throws -> String {
        try await fetch(port: port, path: path).body
    }

    public static func fetch(port: Int, path: String) async throws -> (status: Int, body: String) {
        guard let fd = LoopbackSocket.connect(port: port) else { throw ProcessError(message: "cannot connect to 127.0.0.1:\(port)") }
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }
}

/// A plain blocking TCP connection to 127.0.0.1 (for bytes the client libraries never send).
public enum LoopbackSocket {
    /// The connected descriptor, or nil when nothing listens on `port`.
    public static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 { close(fd); return nil }
        return fd
    }
}
