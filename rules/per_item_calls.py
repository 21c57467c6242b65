"""Calls that read, decode or transform an image, a sound or an array file: per-item CPU work when
a data generator makes them for every example. Shared by the project index (which exports the
functions of a module that make them, advisor/exported_generators.py) and the rules that read a
generator of the linted module itself (rules/analysis/keras_generators.py); a plain module, so
that the index imports no libcst analysis."""

PER_ITEM_WORK = (
    "PIL.", "cv2.", "scipy.ndimage.", "scipy.misc.imread", "scipy.misc.imresize", "skimage.", "imageio.",
    "librosa.", "soundfile.read", "torchaudio.load", "tifffile.", "nibabel.load", "pydicom.", "SimpleITK.",
    "imgaug.", "albumentations.", "matplotlib.colors.rgb_to_hsv", "matplotlib.colors.hsv_to_rgb",
    "matplotlib.pyplot.imread", "matplotlib.image.imread", "keras.preprocessing.image.", "keras.utils.load_img",
    "tensorflow.keras.preprocessing.image.", "tensorflow.keras.utils.load_img", "numpy.load",
)
# Words one of those calls must write in a module (a module without any skips the search).
WORK_WORDS = ("PIL", "Image", "cv2", "ndimage", "ndi", "imread", "skimage", "imageio", "librosa", "soundfile",
              "torchaudio", "tifffile", "nibabel", "pydicom", "SimpleITK", "imgaug", "albumentations", "rgb_to_hsv",
              "load_img", "load")
