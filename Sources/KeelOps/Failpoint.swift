import Foundation
import NIOConcurrencyHelpers

/// Crash points for the fault tests: `KEEL_FAILPOINTS=name@n,other` kills the process with SIGKILL
/// at the n-th time (default the first) the code passes `Failpoint.hit(name)`. Unset — always in
/// production — nothing is armed and a hit costs one dictionary lookup.
public enum Failpoint {
    private static let armed: NIOLockedValueBox<[String: Int]> = {
        var points: [String: Int] = [:]
        for item in (ProcessInfo.processInfo.environment["KEEL_FAILPOINTS"] ?? "").split(separator: ",") {
            let parts = item.split(separator: "@")
            points[String(parts[0])] = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        }
        return NIOLockedValueBox(points)
    }()

    public static func hit(_ name: String) {
        let fire = armed.withLockedValue { points -> Bool in
            guard let remaining = points[name] else { return false }
            if remaining <= 1 {
                points.removeValue(forKey: name)
                return true
            }
            points[name] = remaining - 1
            return false
        }
        if fire {
            FileHandle.standardError.write(Data("failpoint \(name): killing the process\n".utf8))
            kill(getpid(), SIGKILL)
        }
    }
}
