import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import KeelWire

/// The field rules of keel-capital's entities and requests, each naming the field it checks.
enum CapitalValidation {
    /// `[A-Za-z0-9._:-]{1,64}`: empty → `E_MISSING_FIELD`, else `E_INVALID_ID`.
    static func id(_ value: String, field: String) throws(FieldError) {
        if value.isEmpty { throw FieldError.missing(field) }
        let allowed = value.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x3a || c == 0x2d
        }
        guard allowed, value.utf8.count <= 64 else {
            throw FieldError(.invalidId, field: field, message: "\(field) must be 1–64 characters of A–Z a–z 0–9 . _ : -")
        }
    }

    static func required(_ value: String, field: String) throws(FieldError) {
        if value.isEmpty { throw FieldError.missing(field) }
    }

    /// A decimal within `[low, high]`; `""` = `fallback`.
    static func decimal(_ text: String, default fallback: String, field: String, in range: ClosedRange<ExactDecimal>) throws(FieldError) -> ExactDecimal {
        let value = try DecimalText.parseExact(text.isEmpty ? fallback : text, field: field)
        guard range.contains(value) else {
            throw FieldError(.valueOutOfRange, field: field, message: "\(field) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    static func unknownEnum(_ field: String, _ number: Int) -> FieldError {
        FieldError(.unknownEnum, field: field, message: "\(field) \(number) is not a listed value")
    }

    /// `YYYY-MM-DD` naming a real calendar day.
    static func date(_ text: String, field: String) throws(FieldError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let invalid = FieldError(.invalidDate, field: field, message: "\(field) must be a date YYYY-MM-DD, got \"\(text)\"")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month), day >= 1 else { throw invalid }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= days else { throw invalid }
    }

    static func orderType(_ value: Keel_Capital_V1_OrderType) throws(FieldError) -> OrderQuantity.OrderType {
        switch value {
        case .unspecified, .market: .market
        case .limit: .limit
        case .stopMarket: .stopMarket
        case .stopLimit: .stopLimit
        case .conditionalLimit: .conditionalLimit
        case .preMarket: .preMarket
        case .afterMarket: .afterMarket
        case .UNRECOGNIZED(let n): throw unknownEnum("order_type", n)
        }
    }

    /// nil = unset.
    static func side(_ value: Keel_Capital_V1_OrderSide) throws(FieldError) -> OrderQuantity.Side? {
        switch value {
        case .unspecified: nil
        case .buy: .buy
        case .sell: .sell
        case .UNRECOGNIZED(let n): throw unknownEnum("side", n)
        }
    }

    static func convergeMode(_ value: Keel_Capital_V1_ConvergeMode, field: String) throws(FieldError) -> Keel_Capital_V1_ConvergeMode {
        switch value {
        case .unspecified, .none: .none
        case .plan, .execute: value
        case .UNRECOGNIZED(let n): throw unknownEnum(field, n)
        }
    }

    static func symbolRules(_ rules: Keel_Capital_V1_SymbolRules) throws(FieldError) -> OrderQuantity.SymbolRules {
        func value(_ text: String, _ name: String) throws(FieldError) -> ExactDecimal {
            try DecimalText.parseExactNonNegative(text.isEmpty ? "0" : text, field: "symbol_rules.\(name)")
        }
        var out = OrderQuantity.SymbolRules()
        out.minQty = try value(rules.minQty, "min_qty")
        out.maxQty = try value(rules.maxQty, "max_qty")
        out.stepSize = try value(rules.stepSize, "step_size")
        out.minPrice = try value(rules.minPrice, "min_price")
        out.maxPrice = try value(rules.maxPrice, "max_price")
        out.tickSize = try value(rules.tickSize, "tick_size")
        out.minNotional = try value(rules.minNotional, "min_notional")
        if rules.hasAmountPrecision {
            guard rules.amountPrecision <= 18 else {
                throw FieldError(.valueOutOfRange, field: "symbol_rules.amount_precision", message: "symbol_rules.amount_precision must be 0–18")
            }
            out.amountPrecision = Int(rules.amountPrecision)
        }
        return out
    }

    /// A decimal another service answered with (the gateway's positions and fills): one that does
    /// not parse is INTERNAL naming the service and the field, never a zero.
    static func answered(_ text: String, by service: String, field: String) throws(RPCError) -> ExactDecimal {
        guard let value = DecimalGrammar.parse(text) else {
            throw RPCError.field(.unreadableUpstreamDecimal, field: field,
                                 "\(service) answered \"\(text)\" for \(field), which is not a decimal", metadata: ["upstream": service])
        }
        return value
    }
}
