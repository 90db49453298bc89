import Adapter
import Diffusion
import Imaging

extension DetectionOnlyDetector {
    /// Detections on an image of any size, in that image's pixels: the model sees it resized down to the nearest
    /// multiples of the VAE factor (as diffusers rounds), and the boxes are scaled back.
    public func detect(_ image: RGBImage, noise: DiffusionNoise) throws -> [Detection] {
        let factor = pipeline.vaeScaleFactor
        let (w, h) = (image.width / factor * factor, image.height / factor * factor)
        guard w > 0, h > 0 else {
            throw ImagingError.invalidArgument("the image is \(image.width)x\(image.height), smaller than the model's \(factor)-pixel grid")
        }
        let input = (w, h) == (image.width, image.height) ? image : image.resized(width: w, height: h)
        let tensor = Img2ImgResult.imageTensor(rgb: input.pixels, width: w, height: h)
        let (sx, sy) = (Float(image.width) / Float(w), Float(image.height) / Float(h))
        return try detect(image: tensor, noise: noise).map { d in
            var d = d
            (d.x0, d.x1, d.y0, d.y1) = (d.x0 * sx, d.x1 * sx, d.y0 * sy, d.y1 * sy)
            return d
        }
    }
}
