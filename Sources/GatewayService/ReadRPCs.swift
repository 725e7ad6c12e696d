import Contracts
import KeelWire

extension GatewayService {
    func registerReads(into router: inout RPCRouter) {
        router.unary(KeelRPC.gatewayGetPositions) { (request: Keel_Gateway_V1_GetPositionsRequest, _: ServerContext) -> Keel_Gateway_V1_GetPositionsResponse in
            let account = try await self.existingAccount(request.accountID)
            var response = Keel_Gateway_V1_GetPositionsResponse()
            response.positions = try await self.storeCall { try await self.broker.positions(accountID: account) }
            if request.includeAttributed {
                response.attributed = try await self.storeCall { try await self.store.attributedPositions() }
            }
            return response
        }
        router.unary(KeelRPC.gatewayGetBalance) { (request: Keel_Gateway_V1_GetBalanceRequest, _: ServerContext) -> Keel_Gateway_V1_GetBalanceResponse in
            let account = try await self.existingAccount(request.accountID)
            return try await self.storeCall { try await self.broker.balance(accountID: account) }
        }
        router.unary(KeelRPC.gatewayListOrders) { (request: Keel_Gateway_V1_ListOrdersRequest, _: ServerContext) -> Keel_Gateway_V1_ListOrdersResponse in
            let limit = try Self.listLimit(request.limit)
            let after = try Self.position(ofPageToken: request.pageToken, prefix: "o")
            if case .UNRECOGNIZED(let number) = request.status {
                throw RPCError.field(.unknownEnum, field: "status", "status \(number) is not an OrderStatus")
            }
            let rows = try await self.storeCall {
                try await self.store.orderRecords(batchID: request.batchID, worldID: request.worldID, status: request.status, afterSeq: after, limit: limit + 1)
            }
            return .with {
                $0.orders = rows.prefix(limit).map(\.record)
                if rows.count > limit, let last = rows.prefix(limit).last { $0.nextPageToken = "o\(last.seq)" }
            }
        }
        router.serverStreaming(KeelRPC.gatewayReadCommitLog) { (request: Keel_Gateway_V1_ReadCommitLogRequest, writer: ResponseStreamWriter<CommitLogRecord>, _: ServerContext) in
            var next = max(request.fromOffset, 1)
            var remaining = request.limit == 0 ? Int.max : Int(request.limit)
            while remaining > 0 {
                let records = try await self.storeCall { try await self.store.commitLog(from: next, limit: min(256, remaining)) }
                if records.isEmpty {
                    guard request.follow else { return }
                    await self.store.commits.wait(after: next - 1)
                    continue
                }
                try await writer.send(contentsOf: records)
                next = records.last!.offset + 1
                remaining -= records.count
            }
        }
        router.serverStreaming(KeelRPC.gatewayWatch) { (request: Keel_Gateway_V1_WatchRequest, writer: ResponseStreamWriter<GatewayEvent>, _: ServerContext) in
            try await self.watch(request, writer: writer)
        }
        router.unary(KeelRPC.gatewayListAuditEvents) { (request: Keel_Gateway_V1_ListAuditEventsRequest, _: ServerContext) -> Keel_Gateway_V1_ListAuditEventsResponse in
            let limit = try Self.listLimit(request.limit)
            let events = try await self.storeCall { try await self.store.auditEvents(key: request.key, afterID: request.afterID, limit: limit) }
            return .with {
                $0.events = events
                $0.nextAfterID = events.last?.id ?? request.afterID
            }
        }
    }

    static let topics: Set<String> = ["rebalancing.planned", "orders", "schedule.progress", "exit.signals"]

    /// `Watch`: the gateway's outbox from a resume point (or from now with `live_only`), following new
    /// commits; a slow reader holds its cursor, not memory.
    func watch(_ request: Keel_Gateway_V1_WatchRequest, writer: ResponseStreamWriter<GatewayEvent>) async throws {
        for (i, topic) in request.topics.enumerated() where !Self.topics.contains(topic) {
            throw RPCError.field(.unknownTopic, field: "topics[\(i)]", "unknown topic \"\(topic)\" (rebalancing.planned, orders, schedule.progress, exit.signals)")
        }
        let topics = Set(request.topics)
        var cursor: UInt64
        if request.liveOnly {
            cursor = try await storeCall { try await self.store.latestEventSeq() }
        } else {
            cursor = request.afterSeq
            if let oldest = try await storeCall({ try await self.store.oldestEventSeq() }), cursor < oldest - 1 {
                throw RPCError.field(.resumePointExpired, field: "after_seq", "events up to \(oldest - 1) are no longer retained", metadata: ["oldest_seq": "\(oldest)"])
            }
        }
        while !Task.isCancelled {
            let (events, scanned) = try await storeCall { try await self.store.events(after: cursor, topics: topics, limit: 256) }
            try await writer.send(contentsOf: events)
            if scanned == cursor {
                await store.events.wait(after: cursor)
            }
            cursor = scanned
        }
        throw CancellationError()
    }

    /// `""` = `default`; an account the broker does not know is NOT_FOUND.
    func existingAccount(_ requested: String) async throws -> String {
        let account = requested.isEmpty ? "default" : requested
        guard try await storeCall({ try await self.broker.hasAccount(account) }) else {
            throw RPCError.field(.accountNotFound, field: "account_id", "the broker has no account \(account)", metadata: ["account_id": account])
        }
        return account
    }

    /// The row a page token (`<prefix><row>`, as this gateway issues them) continues after; 0 for none.
    static func position(ofPageToken token: String, prefix: Character) throws(RPCError) -> Int64 {
        guard !token.isEmpty else { return 0 }
        guard token.first == prefix, let row = Int64(token.dropFirst()), row >= 0 else {
            throw RPCError.field(.invalidPageToken, field: "page_token", "page_token is not one this gateway issued")
        }
        return row
    }

    /// `limit` 0 = 100, at most 1,000.
    static func listLimit(_ limit: UInt32) throws(RPCError) -> Int {
        if limit == 0 { return 100 }
        guard limit <= 1_000 else {
            throw RPCError.field(.valueOutOfRange, field: "limit", "limit must be at most 1000, got \(limit)")
        }
        return Int(limit)
    }
}
