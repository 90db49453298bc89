import Tensors

extension ModelLoadError {
    /// The same file, key, message and hint as a weight-file error from the Tensors target.
    public init(_ error: WeightError) {
        self.init(file: error.file, key: error.key, message: error.message, hint: error.hint)
    }

    /// Runs `body`, turning `WeightError`s (from `SafeTensorsFile`, `WeightLoader`) into `ModelLoadError`s,
    /// so model-building code reports one error type.
    public static func converting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as WeightError {
            throw ModelLoadError(error)
        }
    }
}
