import Foundation

/// What an executable's `--help` says it serves, against what its router answers.
public enum HelpText {
    /// The `Service/Method` names `--help` of `executable` lists.
    public static func listedMethods(_ executable: String) async throws -> Set<String> {
        let help = try await runCommand(executable, ["--help"])
        guard help.status == 0 else { throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(executable) --help exited \(help.status): \(help.stderr)"]) }
        let pattern = try NSRegularExpression(pattern: "\\b(Planner|Gateway|Capital|Health)/[A-Z][A-Za-z]*\\b")
        let text = help.stdout + help.stderr
        return Set(pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text).map { String(text[$0]) } })
    }

    /// `/keel.gateway.v1.Gateway/Execute` → `Gateway/Execute`.
    public static func shortNames(_ paths: [String]) -> Set<String> {
        Set(paths.map { path in
            let parts = path.split(separator: "/")
            return "\(parts[0].split(separator: ".").last!)/\(parts[1])"
        })
    }
}
