"""Vectorizing the 50,000 labelled reviews of the real aclImdb archive, cold vs from cache.

    python bench/bench_vectorize.py /path/to/aclImdb_v1.tar.gz [--maxlen 500] [--mode int]

"Cold" starts from an empty cache (a fresh temporary SEQEXP_CACHE_DIR): read the archive,
adapt seqexp's numpy vectorizer on the training texts, vectorize train + validation + test (all
25,000 training reviews, 10,000 of them drawn for validation, and 25,000 test reviews).
"Cached" repeats the same load + encode, as the next job of a sweep would. Prints both
times and their ratio. ``--keras`` also times keras.layers.TextVectorization (TensorFlow's
string ops) adapting and vectorizing the same texts in the same run, as the reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from omegaconf import OmegaConf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", help="aclImdb_v1.tar.gz (or the aclImdb folder)")
    parser.add_argument("--maxlen", type=int, default=500)
    parser.add_argument("--max-words", type=int, default=10000)
    parser.add_argument("--mode", default="int", choices=["int", "multi_hot", "tf_idf"],
                        help="int: Embedding ids (embedding/glove); else a onehot bag")
    parser.add_argument("--keras", action="store_true",
                        help="also time keras.layers.TextVectorization on the same texts")
    args = parser.parse_args()

    cache = tempfile.mkdtemp(prefix="seqexp-bench-cache-")
    os.environ["SEQEXP_CACHE_DIR"] = cache
    import seqexp.data.raw_imdb  # noqa: F401  (import Keras before timing)
    import seqexp.encoders.text  # noqa: F401
    from seqexp.data import load
    from seqexp.data.schemas import RawImdbConfig
    from seqexp.encoders import Batching, encode
    from seqexp.encoders.schemas import EmbeddingConfig, OneHotConfig

    dataset = OmegaConf.structured(RawImdbConfig(path=args.archive, train_samples=None,
                                                 maxlen=args.maxlen, max_words=args.max_words))
    encoder = OmegaConf.structured(EmbeddingConfig() if args.mode == "int"
                                   else OneHotConfig(mode=args.mode))
    batching = Batching(batch_size=128, seed=0, steps_per_epoch=None)

    def once() -> tuple[float, float, int]:
        start = time.perf_counter()
        splits = load(dataset)
        loaded = time.perf_counter()
        encoded = encode(splits, encoder, batching)
        done = time.perf_counter()
        reviews = sum(len(p.y) for p in (encoded.train, encoded.val, encoded.test))
        return loaded - start, done - loaded, reviews

    try:
        cold_load, cold_encode, reviews = once()
        warm_load, warm_encode, _ = once()
        splits = load(dataset)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    cold, warm = cold_load + cold_encode, warm_load + warm_encode
    print(f"reviews vectorized: {reviews} (maxlen {args.maxlen}, {args.max_words} words, "
          f"mode {args.mode})")
    print(f"cold   : {cold:7.2f} s  (read archive {cold_load:6.2f} s, adapt+vectorize "
          f"{cold_encode:6.2f} s)")
    print(f"cached : {warm:7.2f} s  (load texts   {warm_load:6.2f} s, load arrays     "
          f"{warm_encode:6.2f} s)")
    print(f"ratio  : {cold / warm:7.1f}x faster from cache (vectorizing alone: "
          f"{cold_encode / warm_encode:.1f}x)")
    if args.keras:
        keras_time = time_keras(splits, args.mode, args.max_words)
        print(f"keras  : {keras_time:7.2f} s  TextVectorization adapt+vectorize of the same texts "
              f"(numpy vectorizer {cold_encode:.2f} s: {keras_time / cold_encode:.1f}x faster)")


def time_keras(splits, mode: str, max_words: int) -> float:
    """TextVectorization (TensorFlow) adapting on train and vectorizing the three parts."""
    import keras
    import numpy as np
    import tensorflow as tf

    start = time.perf_counter()
    layer = keras.layers.TextVectorization(max_tokens=max_words, output_mode=mode,
                                           ragged=mode == "int")
    train = np.asarray(splits.train[0], dtype=object)
    layer.adapt(tf.data.Dataset.from_tensor_slices(train).batch(2048))
    for part in (splits.train, splits.val, splits.test):
        texts = np.asarray(part[0], dtype=object)
        for lo in range(0, len(texts), 2048):
            layer(texts[lo:lo + 2048])
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
