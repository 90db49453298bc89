import XCTest
@testable import Diffusion

final class ModelLoadErrorTests: XCTestCase {
    func testMessageNamesFileKeyAndHint() {
        let e = ModelLoadError(file: "unet/diffusion_pytorch_model.safetensors", key: "conv_in.weight", message: "missing", hint: "re-export")
        XCTAssertEqual(e.description, "unet/diffusion_pytorch_model.safetensors: `conv_in.weight`: missing\n  hint: re-export")
    }
}
