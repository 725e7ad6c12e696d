extension ErrorReason {
    /// docs/errors.md: every reason with its status, the field it names and its meaning, written
    /// from `all` (`keel errors --markdown`; a test checks the file against it).
    public static func reference() -> String {
        var out = """
        # Errors

        Every error a Keel service answers with is a KWP/1 `Status` with a gRPC status code and, for
        the errors below, an `ErrorInfo` whose `reason` is one of these names and whose
        `metadata["field"]` names the offending field (a protobuf field path such as
        `positions[3].mark`, a metadata key such as `idempotency-key`, or a config path). Other
        `metadata` entries carry facts (`plan_id`, `world_id`, `upstream`); an error that came from
        another Keel service carries `upstream` with that service's name. Errors of the protocol
        itself (a frame too large, an unknown method, a missing token) are in
        [protocol.md](protocol.md#12-status-codes-and-errorinfo).

        A reason keeps its meaning across versions: match on `reason`, not on `message`.

        This file is written from the registry in `Sources/Contracts/ErrorReason.swift` by
        `keel errors --markdown > docs/errors.md`; a test fails when they differ.

        | reason | status | field | meaning |
        |---|---|---|---|

        """
        for reason in all {
            let field = reason.field.isEmpty ? "—" : reason.field
            out += "| `\(reason.name)` | \(reason.status.name) (\(reason.status.rawValue)) | \(cell(field)) | \(cell(reason.meaning)) |\n"
        }
        return out
    }

    /// Table cells keep to one line and show a `|` as text.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "|", with: "\\|")
    }
}
