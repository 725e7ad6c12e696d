import KeelTestSupport
import Testing
@testable import Venues

@Suite struct VenueRateLimiterTests {
    typealias Limit = VenueRateLimiter.Limit

    @Test func aFullWindowWaitsForTheNextOne() {
        var limiter = VenueRateLimiter(limits: [Limit(counted: .requestWeight, intervalMs: 1_000, limit: 10)])
        for _ in 0..<5 { #expect(limiter.admit(weight: 2, orders: 0, atMs: 10_500) == .send) }
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 10_999) == .waitUntil(11_000))
        #expect(limiter.admit(weight: 10, orders: 0, atMs: 11_000) == .send)
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 11_001) == .waitUntil(12_000))
    }

    /// A clock stepped back (a re-measured offset) keeps the count of the window it was in.
    @Test func aClockSteppedBackDoesNotEmptyTheWindow() {
        var limiter = VenueRateLimiter(limits: [Limit(counted: .orders, intervalMs: 10_000, limit: 2)])
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 20_001) == .send)
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 20_002) == .send)
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 19_999) == .waitUntil(30_000))
    }

    @Test func eachLimitCountsItsOwnThing() {
        var limiter = VenueRateLimiter(limits: [
            Limit(counted: .requestWeight, intervalMs: 60_000, limit: 100),
            Limit(counted: .orders, intervalMs: 10_000, limit: 2),
            Limit(counted: .requests, intervalMs: 60_000, limit: 4),
        ])
        #expect(limiter.admit(weight: 1, orders: 1, atMs: 0) == .send)
        #expect(limiter.admit(weight: 1, orders: 1, atMs: 1) == .send)
        // The order window is full; a query (no order) still goes.
        #expect(limiter.admit(weight: 1, orders: 1, atMs: 2) == .waitUntil(10_000))
        #expect(limiter.admit(weight: 5, orders: 0, atMs: 3) == .send)
        // The raw request count is full too now; the later of the two windows decides.
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 4) == .send)
        #expect(limiter.admit(weight: 1, orders: 1, atMs: 5) == .waitUntil(60_000))
        // A refused request is not counted: the weight used so far is 8.
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 60_000) == .send)
    }

    @Test func aRequestHeavierThanAWindowCanNeverGo() {
        let limit = Limit(counted: .requestWeight, intervalMs: 60_000, limit: 20)
        var limiter = VenueRateLimiter(limits: [limit])
        #expect(limiter.admit(weight: 21, orders: 0, atMs: 0) == .exceedsLimit(limit))
    }

    @Test func windowsStartOnTheVenuesBoundaries() {
        var limiter = VenueRateLimiter(limits: [Limit(counted: .orders, intervalMs: 86_400_000, limit: 1)])
        // 2026-12-08T23:59:59Z, then the next UTC day.
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 1_796_774_399_000) == .send)
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 1_796_774_399_500) == .waitUntil(1_796_774_400_000))
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 1_796_774_400_000) == .send)
    }

    @Test func theVenuesCountIsTakenWhenHigher() {
        var limiter = VenueRateLimiter(limits: [
            Limit(counted: .requestWeight, intervalMs: 60_000, limit: 10, header: "X-MBX-USED-WEIGHT-1M"),
            Limit(counted: .orders, intervalMs: 10_000, limit: 5, header: "X-MBX-ORDER-COUNT-10S"),
        ])
        #expect(limiter.admit(weight: 3, orders: 1, atMs: 0) == .send)
        // Lower than Keel's count: kept; higher: taken; names without case; a bad value is named.
        let unreadable = limiter.resync(headers: [("x-mbx-used-weight-1m", "9"), ("X-MBX-ORDER-COUNT-10S", "1"), ("Date", "x")], atMs: 10)
        #expect(unreadable.isEmpty)
        #expect(limiter.admit(weight: 2, orders: 0, atMs: 20) == .waitUntil(60_000))
        #expect(limiter.admit(weight: 1, orders: 4, atMs: 30) == .send)
        #expect(limiter.resync(headers: [("X-MBX-ORDER-COUNT-10S", "lots"), ("X-MBX-USED-WEIGHT-1M", "-1")], atMs: 40) == ["X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S"])
        #expect(limiter.admit(weight: 0, orders: 1, atMs: 50) == .waitUntil(10_000))
    }

    @Test func tooManyRequestsPausesUntilRetryAfterElseBacksOff() {
        var limiter = VenueRateLimiter(limits: [])
        #expect(limiter.tooManyRequests(retryAfterSeconds: 7, atMs: 1_000) == 8_000)
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 7_999) == .paused(until: 8_000))
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 8_000) == .send)
        // Without Retry-After: 1 s doubling to 60 s, from where the pause was raised…
        var waits: [Int64] = []
        var now: Int64 = 100_000
        for _ in 0..<9 {
            let until = limiter.tooManyRequests(retryAfterSeconds: nil, atMs: now)
            waits.append(until - now)
            now = until
        }
        #expect(waits == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000])
        // …until an answer that was not a refusal.
        limiter.answered()
        #expect(limiter.tooManyRequests(retryAfterSeconds: nil, atMs: now) == now + 1_000)
    }

    @Test func aBanHaltsUntilRetryAfter() {
        var limiter = VenueRateLimiter(limits: [])
        #expect(limiter.banned(retryAfterSeconds: 120, atMs: 0) == 120_000)
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 60_000) == .halted(until: 120_000))
        // A pause that ends sooner does not shorten the ban.
        limiter.tooManyRequests(retryAfterSeconds: 1, atMs: 60_000)
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 61_000) == .halted(until: 120_000))
        #expect(limiter.admit(weight: 1, orders: 0, atMs: 120_000) == .send)
    }

    /// Callers asking at three times the allowed rate for a simulated minute, each retrying at the
    /// time it was given: no window the venue counts goes over its limit, and at least 95 % of what
    /// the binding limit allows is sent.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func atThreeTimesTheRateNoWindowOverflowsAndTheLimitIsUsed(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let limits = [Limit(counted: .requestWeight, intervalMs: 1_000, limit: 60), Limit(counted: .orders, intervalMs: 10_000, limit: 100)]
        var limiter = VenueRateLimiter(limits: limits)
        // 100 orders per 10 s allowed; asked: 30 per second, each weighing 1–3.
        // Requests in time order; a refused one comes back at the time it was given (kept sorted by
        // inserting it in place, so the simulation stays linear enough to be quick).
        var pending: [(at: Int64, weight: Int)] = (0..<1_800).map { _ in (Int64(random.next() % 60_000), Int(random.next() % 3) + 1) }.sorted { $0.at < $1.at }
        var next = 0
        var sent: [(at: Int64, weight: Int)] = []
        while next < pending.count {
            let request = pending[next]
            next += 1
            guard request.at < 60_000 else { continue }
            switch limiter.admit(weight: request.weight, orders: 1, atMs: request.at) {
            case .send: sent.append(request)
            case .waitUntil(let at):
                var low = next, high = pending.count
                while low < high {
                    let mid = (low + high) / 2
                    if pending[mid].at <= at { low = mid + 1 } else { high = mid }
                }
                pending.insert((at, request.weight), at: low)
            default: Issue.record("unexpected decision")
            }
        }
        for limit in limits {
            var used: [Int64: Int] = [:]
            for request in sent { used[request.at / limit.intervalMs, default: 0] += limit.counted == .orders ? 1 : request.weight }
            #expect(used.values.allSatisfy { $0 <= limit.limit })
        }
        #expect(sent.count >= 570)
    }
}
