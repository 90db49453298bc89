/// What the denoising model predicts (diffusers `prediction_type`): the noise (`epsilon`, SD 1.x and SD 2-base),
/// the velocity (`v_prediction`, SD 2 768) or the clean sample (`sample`).
public enum PredictionType: String, Sendable, CaseIterable {
    case epsilon
    case vPrediction = "v_prediction"
    case sample
}
