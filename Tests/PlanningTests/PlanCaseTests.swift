import KeelTestSupport
import Contracts
import Foundation
import Planning
import Testing

/// Every planning case of the planner-gateway.json fixture, through the pure module.
@Suite struct PlanCaseTests {
    static let file = "planner-gateway"

    @Test(arguments: try Cases.named(file, kind: "plan"))
    func planCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let input = testCase["input"] as! [String: Any]
        let request = try Cases.message(PlanRequest.self, from: input["request"]!)
        let plan = try PlanComputation.plan(request)
        let expected = (testCase["expected"] as! [String: Any])["plan"]!
        let differences = Cases.differences(expected: expected, actual: try Cases.json(plan))
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
    }

    @Test(arguments: try Cases.named(file, kind: "plan_error"))
    func planErrorCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let input = testCase["input"] as! [String: Any]
        let request = try Cases.message(PlanRequest.self, from: input["request"]!)
        let expected = (testCase["expected"] as! [String: Any])["error"] as! [String: Any]
        do {
            let plan = try PlanComputation.plan(request)
            Issue.record("\(name): expected \(expected), planned \(plan)")
        } catch {
            #expect(error.code.name == expected["code"] as? String, "\(name)")
            #expect(error.reason == expected["reason"] as? String, "\(name)")
            #expect(error.field == expected["field"] as? String, "\(name)")
            if let metadata = expected["metadata"] as? [String: String] {
                #expect(error.allMetadata == metadata, "\(name)")
            }
        }
    }

}

/// The target-weight cases of the capital-twap.json fixture (plans and validation).
@Suite struct TargetWeightCaseTests {
    static let file = "capital-twap"

    @Test(arguments: try Cases.named(file, kind: "target_weight_plan"))
    func targetWeightCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let target = try Cases.message(Keel_Planner_V1_TargetWeightRequest.self, from: testCase["input"]!)
        var request = PlanRequest()
        request.mode = .targetWeight
        request.targetWeight = target
        let expected = testCase["expected"] as! [String: Any]
        do {
            let plan = try PlanComputation.plan(request)
            #expect(expected["error"] == nil, "\(name): expected an error")
            let differences = Cases.differences(expected: expected, actual: try Cases.json(plan.targetWeight))
            #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
        } catch {
            let want = expected["error"] as? [String: Any]
            #expect(want != nil, "\(name): unexpected \(error)")
            let fieldError = error as? FieldError
            #expect(fieldError?.reason == want?["reason"] as? String)
            #expect(fieldError?.field == want?["field"] as? String)
        }
    }
}
