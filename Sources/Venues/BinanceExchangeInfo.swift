import ExactNumbers
import Foundation

/// An instrument as a venue trades it: the lot and tick its orders must be whole multiples of, and
/// the smallest order it takes. (A value set in the gateway's venue policy wins over the venue's.)
public struct VenueInstrument: Sendable, Equatable {
    public var symbol: String
    public var baseAsset: String
    public var quoteAsset: String
    /// The venue accepts orders for it now (Binance status `TRADING`).
    public var trading: Bool
    /// nil when the venue sets none.
    public var lotSize: ExactDecimal?
    /// Market orders' own lot, when the venue sets one apart (Binance `MARKET_LOT_SIZE`).
    public var marketLotSize: ExactDecimal?
    public var tickSize: ExactDecimal?
    public var minQuantity: ExactDecimal?
    public var minNotional: ExactDecimal?
}

/// Where a venue's answer could not be read: the JSON path and what was wrong. The answer's values
/// are not repeated (they could be anything).
public struct VenueAnswerError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }

    init(path: String, _ problem: String) {
        (self.path, self.problem) = (path, problem)
    }

    /// `body` decoded as `type`, or where it fails.
    static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws(VenueAnswerError) -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw VenueAnswerError(error)
        }
    }

    /// A JSONDecoder failure, at its path.
    init(_ error: any Error) {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce(into: "") { out, key in
                if let index = key.intValue { out += "[\(index)]" } else { out += out.isEmpty ? key.stringValue : "." + key.stringValue }
            }
        }
        switch error as? DecodingError {
        case .typeMismatch(let type, let context): self.init(path: path(context.codingPath), "not a \(type == String.self ? "string" : "\(type)")")
        case .valueNotFound(_, let context): self.init(path: path(context.codingPath), "null where a value belongs")
        case .keyNotFound(let key, let context): self.init(path: path(context.codingPath + [key]), "missing")
        case .dataCorrupted(let context): self.init(path: path(context.codingPath), "not JSON, or not a value of its kind")
        default: self.init(path: "", "does not decode")
        }
    }
}

/// `GET /api/v3/exchangeInfo`: the rate limits and the instruments. A symbol whose filters cannot
/// be read is left out and listed in `unreadable` (the adapter refuses its orders and says why); an
/// answer whose shape is wrong is an error.
public struct BinanceExchangeInfo: Sendable {
    public var rateLimits: [VenueRateLimiter.Limit]
    public var instruments: [String: VenueInstrument]
    public var unreadable: [String: VenueAnswerError]

    public init(json: Data) throws(VenueAnswerError) {
        let wire = try VenueAnswerError.decode(Wire.self, json)
        rateLimits = []
        for (i, limit) in wire.rateLimits.enumerated() {
            let path = "rateLimits[\(i)]"
            let counted: VenueRateLimiter.Counted
            let headerPrefix: String
            switch limit.rateLimitType {
            case "REQUEST_WEIGHT": (counted, headerPrefix) = (.requestWeight, "X-MBX-USED-WEIGHT-")
            case "ORDERS": (counted, headerPrefix) = (.orders, "X-MBX-ORDER-COUNT-")
            // Counted per request, with no header of its own.
            case "RAW_REQUESTS": (counted, headerPrefix) = (.requests, "")
            default: throw VenueAnswerError(path: path + ".rateLimitType", "not a rate limit type Keel knows")
            }
            let unit: (ms: Int64, letter: String)
            switch limit.interval {
            case "SECOND": unit = (1_000, "S")
            case "MINUTE": unit = (60_000, "M")
            case "HOUR": unit = (3_600_000, "H")
            case "DAY": unit = (86_400_000, "D")
            default: throw VenueAnswerError(path: path + ".interval", "not an interval Keel knows")
            }
            guard limit.intervalNum > 0 else { throw VenueAnswerError(path: path + ".intervalNum", "not a positive count") }
            guard limit.limit >= 0 else { throw VenueAnswerError(path: path + ".limit", "negative") }
            rateLimits.append(.init(
                counted: counted, intervalMs: unit.ms * Int64(limit.intervalNum), limit: limit.limit,
                header: headerPrefix.isEmpty ? nil : headerPrefix + "\(limit.intervalNum)\(unit.letter)"))
        }
        instruments = [:]
        unreadable = [:]
        for (i, entry) in wire.symbols.enumerated() {
            do {
                let symbol = try entry.symbol.get()
                instruments[symbol.symbol] = try Self.instrument(symbol, path: "symbols[\(i)]")
            } catch {
                unreadable[entry.name ?? "symbols[\(i)]"] = error
            }
        }
    }

    static func instrument(_ wire: Wire.Symbol, path: String) throws(VenueAnswerError) -> VenueInstrument {
        var instrument = VenueInstrument(symbol: wire.symbol, baseAsset: wire.baseAsset, quoteAsset: wire.quoteAsset, trading: wire.status == "TRADING")
        var legacyMinNotional: ExactDecimal?
        for (f, filter) in wire.filters.enumerated() {
            let at = "\(path).filters[\(f)]"
            /// A decimal of the filter; zero means the venue does not check it.
            func decimal(_ value: String?, _ field: String) throws(VenueAnswerError) -> ExactDecimal? {
                guard let value else { throw VenueAnswerError(path: "\(at).\(field)", "missing") }
                guard let parsed = DecimalGrammar.parse(value), parsed.signum >= 0 else {
                    throw VenueAnswerError(path: "\(at).\(field)", "not a non-negative decimal")
                }
                return parsed.isZero ? nil : parsed
            }
            switch filter.filterType {
            case "LOT_SIZE":
                instrument.lotSize = try decimal(filter.stepSize, "stepSize")
                instrument.minQuantity = try decimal(filter.minQty, "minQty")
            case "MARKET_LOT_SIZE": instrument.marketLotSize = try decimal(filter.stepSize, "stepSize")
            case "PRICE_FILTER": instrument.tickSize = try decimal(filter.tickSize, "tickSize")
            case "NOTIONAL": instrument.minNotional = try decimal(filter.minNotional, "minNotional")
            case "MIN_NOTIONAL": legacyMinNotional = try decimal(filter.minNotional, "minNotional")
            // Filters that do not shape an order's size or price (percent price, iceberg parts, …).
            default: break
            }
        }
        if instrument.minNotional == nil { instrument.minNotional = legacyMinNotional }
        return instrument
    }

    struct Wire: Decodable {
        struct RateLimit: Decodable {
            var rateLimitType: String
            var interval: String
            var intervalNum: Int
            var limit: Int
        }

        struct Filter: Decodable {
            var filterType: String
            var stepSize: String?
            var minQty: String?
            var tickSize: String?
            var minNotional: String?
        }

        struct Symbol: Decodable {
            var symbol: String
            var status: String
            var baseAsset: String
            var quoteAsset: String
            var filters: [Filter]
        }

        /// One symbol, or where it could not be read (so that one bad symbol leaves the others).
        struct SymbolEntry: Decodable {
            var name: String?
            var symbol: Result<Symbol, VenueAnswerError>

            init(from decoder: any Decoder) throws {
                name = try? decoder.container(keyedBy: Name.self).decode(String.self, forKey: .symbol)
                do {
                    symbol = .success(try Symbol(from: decoder))
                } catch {
                    symbol = .failure(VenueAnswerError(error))
                }
            }

            enum Name: String, CodingKey { case symbol }
        }

        var rateLimits: [RateLimit]
        var symbols: [SymbolEntry]
    }
}
