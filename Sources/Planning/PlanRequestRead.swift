import Contracts
import ExactNumbers
import Foundation

/// A request's positions as the reader of its bytes found them: how many, and their book or the
/// first bad position's error (which validation answers at the positions' place in its order).
public struct PositionsRead: Sendable {
    public let count: Int
    let book: Result<PositionBook, FieldError>
}

/// A Plan request read from its bytes in one pass over its positions, for planning: each
/// position's fields are read where they lie, its decimals parsed once into the position book, and
/// its entry written into the request digest in the same pass. No `Position` message, and no string
/// for a decimal, is made for a position of plain fields (how Keel's clients write them); any other
/// goes through swift-protobuf. The result plans and digests exactly as the decoded message would.
public struct PlanRequestRead: Sendable {
    /// Every field of the request but its positions (`positions` is empty).
    public var request: PlanRequest
    public var positions: PositionsRead
    /// `PlanRequestDigest.digest` of the whole request; nil for a dry run, which needs none.
    public var digest: String?

    /// Malformed bytes throw swift-protobuf's decoding error.
    public init(_ body: Data) throws {
        let read = try body.withUnsafeBytes { raw -> PlanRequestRead? in
            guard let split = PlanRequest.splitPositions(raw), let rest = try? PlanRequest(serializedBytes: split.others) else { return nil }
            var book = PositionBook()
            var failure: FieldError?
            // A target-weight request's positions must be absent: only their count matters.
            let proportional = rest.mode != .targetWeight
            if proportional { book.reserveCapacity(split.positions.count) }
            /// Position `i` where it lies: its fields, or (not plain) its message from swift-protobuf.
            func entry(_ range: Range<Int>) throws -> PositionEntry {
                let payload = UnsafeRawBufferPointer(rebasing: raw[range])
                if let fields = PositionFieldBytes(payload) { return .plain(fields) }
                return .message(try Keel_Planner_V1_Position(serializedBytes: Data(payload)))
            }
            /// Its row checked and booked, until the first failure.
            func record(_ i: Int, _ entry: PositionEntry) {
                guard proportional, failure == nil else { return }
                do throws(FieldError) {
                    switch entry {
                    case .plain(let fields): try PlanRequestValidation.appendRow(fields, index: i, to: &book)
                    case .message(let position): try PlanRequestValidation.appendRow(position, index: i, to: &book)
                    }
                } catch {
                    failure = error
                }
            }
            var digest: String?
            if rest.dryRun {
                for (i, range) in split.positions.enumerated() { record(i, try entry(range)) }
            } else {
                digest = try PlanRequestDigest.digest(rest) { encoder in
                    for (i, range) in split.positions.enumerated() {
                        let position = try entry(range)
                        record(i, position)
                        switch position {
                        case .plain(let fields): try encoder.append(fields)
                        case .message(let message): try encoder.append(message)
                        }
                    }
                }
            }
            let result: Result<PositionBook, FieldError> = failure.map { .failure($0) } ?? .success(book)
            return PlanRequestRead(request: rest, positions: PositionsRead(count: split.positions.count, book: result), digest: digest)
        }
        if let read {
            self = read
        } else {
            // Malformed: swift-protobuf decodes it whole, for its error (or, should it decode, the
            // message is read the ordinary way).
            var request = try PlanRequest(serializedBytes: body)
            let positions = request.positions
            let book = Result { () throws(FieldError) in try PlanRequestValidation.positionBook(positions) }
            let digest = request.dryRun ? nil : try PlanRequestDigest.digest(request)
            request.positions = []
            self.init(request: request, positions: PositionsRead(count: positions.count, book: book), digest: digest)
        }
    }

    /// A position as the reader met it.
    enum PositionEntry {
        case plain(PositionFieldBytes)
        case message(Keel_Planner_V1_Position)
    }

    init(request: PlanRequest, positions: PositionsRead, digest: String?) {
        self.request = request
        self.positions = positions
        self.digest = digest
    }
}
