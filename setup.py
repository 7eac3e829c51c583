"""draw-tf2: DRAW (Gregor et al. 2015) for TensorFlow 2 / Keras 3."""

from setuptools import setup

# importlib_resources: tensorflow-datasets needs it to download, but does not declare it.
TFDS = ["tensorflow-datasets", "importlib_resources"]

setup(
    name="draw-tf2",
    version="0.1.0",
    description="DRAW, the recurrent VAE with attention, in TensorFlow 2 / Keras 3",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    author="draw-tf2 contributors",
    license_expression="MIT",
    license_files=["LICENSE"],
    keywords=["DRAW", "variational autoencoder", "attention", "generative model", "keras"],
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Science/Research",
        "Intended Audience :: Education",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
    python_requires=">=3.10",
    # The repository's models/ and data/ are installed as draw/models and draw/data, so an
    # install adds one top-level package, `draw`, and never clashes with a project's own
    # `models` or `data` (a clone finds them beside draw/: draw/__init__.py).
    packages=["draw", "draw.app", "draw.measures", "draw.models", "draw.data"],
    package_dir={"draw.models": "models", "draw.data": "data"},
    package_data={
        "draw.data": ["mnist_idx/*.gz", "mnist_idx/README.md"],
        # The shipped trained models (draw.pretrained): weights, config.json, card.
        "draw": ["pretrained_models/*/*"],
    },
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorboard",
        "numpy",
        "scipy",
        "matplotlib",
        "pillow",
        "absl-py",
    ],
    # The three scripts' mains, as commands of an install (python train.py == draw-train).
    entry_points={
        "console_scripts": [
            "draw-train=draw.app.train:run",
            "draw-generate=draw.app.generate:run",
            "draw-evaluate=draw.app.evaluate:run",
        ]
    },
    extras_require={
        # The tfds data sources (--data_source=tfds, SVHN's default without --data_dir).
        "tfds": TFDS,
        "test": ["pytest", "hypothesis", "ruff", *TFDS],
    },
)
