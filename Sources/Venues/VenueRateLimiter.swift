/// A broker's rate limits, counted the way the venue counts them: per fixed window of each limit's
/// interval on the venue's clock (a one-minute window starts on the minute, a day at 00:00 UTC), so
/// that no window the venue counts ever goes over. The venue's own count, from its response
/// headers, is taken whenever it is higher. When the venue says slow down (HTTP 429) or bans the
/// key for a while (HTTP 418), nothing is admitted until the time it gave, else a back-off of 1 s
/// doubling to 60 s. Times are the venue's milliseconds (local clock plus the measured offset).
public struct VenueRateLimiter: Sendable {
    public enum Counted: Sendable, Equatable {
        /// Binance `REQUEST_WEIGHT`: each endpoint's documented weight.
        case requestWeight
        /// Binance `RAW_REQUESTS`, Kiwoom queries: one per request.
        case requests
        /// Binance `ORDERS`, Kiwoom orders: one per order placed (or amended).
        case orders
    }

    public struct Limit: Sendable, Equatable {
        public var counted: Counted
        public var intervalMs: Int64
        public var limit: Int
        /// The response header with the venue's count in the current window (`X-MBX-USED-WEIGHT-1M`).
        public var header: String?

        public init(counted: Counted, intervalMs: Int64, limit: Int, header: String? = nil) {
            (self.counted, self.intervalMs, self.limit, self.header) = (counted, intervalMs, limit, header)
        }
    }

    /// What one request may do now.
    public enum Decision: Sendable, Equatable {
        /// Send it: it is counted.
        case send
        /// A window is full; the request fits once the window turns at this time.
        case waitUntil(Int64)
        /// The venue asked for a pause; nothing is sent before this time.
        case paused(until: Int64)
        /// The venue banned the key; nothing is sent before this time.
        case halted(until: Int64)
        /// The request is heavier than a whole window allows: it can never be sent.
        case exceedsLimit(Limit)
    }

    private struct Window: Sendable {
        var limit: Limit
        var start: Int64 = .min
        var used = 0
    }

    private var windows: [Window]
    private var pausedUntil: Int64 = .min
    private var haltedUntil: Int64 = .min
    private var backOffMs: Int64 = 0
    static let firstBackOffMs: Int64 = 1_000
    static let longestBackOffMs: Int64 = 60_000

    public init(limits: [Limit]) {
        windows = limits.map { Window(limit: $0) }
    }

    public var limits: [Limit] { windows.map(\.limit) }

    /// Admits a request of `weight` that places `orders` orders at `now`, and counts it, or says
    /// when it may go.
    public mutating func admit(weight: Int, orders: Int, atMs now: Int64) -> Decision {
        if now < haltedUntil { return .halted(until: haltedUntil) }
        if now < pausedUntil { return .paused(until: pausedUntil) }
        var fitsAt: Int64?
        for i in windows.indices {
            roll(i, to: now)
            let need = Self.need(of: windows[i].limit.counted, weight: weight, orders: orders)
            guard need > 0 else { continue }
            if need > windows[i].limit.limit { return .exceedsLimit(windows[i].limit) }
            if windows[i].used + need > windows[i].limit.limit {
                fitsAt = max(fitsAt ?? .min, windows[i].start + windows[i].limit.intervalMs)
            }
        }
        if let fitsAt { return .waitUntil(fitsAt) }
        for i in windows.indices {
            windows[i].used += Self.need(of: windows[i].limit.counted, weight: weight, orders: orders)
        }
        return .send
    }

    /// The venue's counts from a response's headers (names compared without case), each taken
    /// when it is higher than Keel's own. Answers the names of the headers whose value is not a
    /// count (left out, Keel's count kept).
    @discardableResult
    public mutating func resync(headers: [(name: String, value: String)], atMs now: Int64) -> [String] {
        var unreadable: [String] = []
        for i in windows.indices {
            guard let header = windows[i].limit.header,
                  let value = headers.last(where: { $0.name.lowercased() == header.lowercased() })?.value else { continue }
            guard let count = Int(value), count >= 0 else {
                unreadable.append(header)
                continue
            }
            roll(i, to: now)
            windows[i].used = max(windows[i].used, count)
        }
        return unreadable
    }

    /// HTTP 429 (Binance `-1003`, Kiwoom `1700`): paused until `Retry-After` seconds, else the next back-off.
    @discardableResult
    public mutating func tooManyRequests(retryAfterSeconds: Int?, atMs now: Int64) -> Int64 {
        pausedUntil = max(pausedUntil, now + nextWait(retryAfterSeconds))
        return pausedUntil
    }

    /// HTTP 418: halted until `Retry-After` seconds, else the next back-off.
    @discardableResult
    public mutating func banned(retryAfterSeconds: Int?, atMs now: Int64) -> Int64 {
        haltedUntil = max(haltedUntil, now + nextWait(retryAfterSeconds))
        return haltedUntil
    }

    /// An answer that was not a rate-limit refusal: the back-off starts over.
    public mutating func answered() {
        backOffMs = 0
    }

    /// The venue's Retry-After when it gave one; else the next back-off (1 s, doubling to 60 s).
    private mutating func nextWait(_ retryAfterSeconds: Int?) -> Int64 {
        if let retryAfterSeconds, retryAfterSeconds >= 0 { return Int64(retryAfterSeconds) * 1_000 }
        backOffMs = backOffMs == 0 ? Self.firstBackOffMs : min(backOffMs * 2, Self.longestBackOffMs)
        return backOffMs
    }

    /// Moves the window forward to the one `now` falls in; never back (a clock stepped back keeps
    /// the count of the window it was in).
    private mutating func roll(_ i: Int, to now: Int64) {
        let interval = windows[i].limit.intervalMs
        guard now >= windows[i].start &+ interval else { return }
        // Windows start on multiples of the interval since the epoch, as the venue's do.
        let remainder = now % interval
        windows[i].start = now - (remainder < 0 ? remainder + interval : remainder)
        windows[i].used = 0
    }

    private static func need(of counted: Counted, weight: Int, orders: Int) -> Int {
        switch counted {
        case .requestWeight: weight
        case .requests: 1
        case .orders: orders
        }
    }
}
