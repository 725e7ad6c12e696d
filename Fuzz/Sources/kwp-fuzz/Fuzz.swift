import Contracts
import Foundation
import KeelWire
import NIOCore
import SwiftProtobuf

/// One libFuzzer input: the bytes a peer sends on a KWP/1 connection. They go through the frame
/// decoder (length prefix and limit, then `keel.wire.v1.Frame`), and every Request's body — and the
/// input itself — is decoded as the request message of every method. Nothing may crash, hang or
/// allocate without bound (libFuzzer's -rss_limit_mb and -timeout catch the last two).
@_cdecl("LLVMFuzzerTestOneInput")
public func keelFuzzOneInput(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    var buffer = ByteBufferAllocator().buffer(bytes: bytes)
    var bodies: [Data] = [Data(bytes)]
    while true {
        guard let frame = try? FrameReader.nextFrame(from: &buffer, maxFrameBytes: 1 << 20) else { break }
        if case .request(let request)? = frame.kind {
            bodies.append(request.body)
            _ = KeelRPC.all.first { $0.path == request.method }
        }
    }
    for body in bodies {
        for rpc in KeelRPC.all {
            if let message = try? rpc.requestType.init(serializedBytes: body) {
                // What decodes must encode again.
                _ = try? message.serializedBytes() as [UInt8]
            }
        }
    }
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("kwp_fuzz_main")
public func kwpFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { keelFuzzOneInput($0, $1) }
}
