"""Is a pair parallel? The evidence behind the verdict, for one Chinese document
against one or more English ones: the bead-score distribution of the real
alignment against that of the null alignments (unrelated halves of the same
documents), the AUC between them, and the unaligned shares (see align/checking.py).

    python scripts/parallel_evidence.py data/zaker-zh-core-technology.md \
        data/xinhua-en-core-technology.txt ../shared/seeds/other-en-xi-innovation-2023.txt
"""
from __future__ import annotations

import argparse
import warnings

from align.checking import QUANTILES
from align.errors import AlignWarning
from align.embedding import DEFAULT_MODEL, load_encoder
from align.pipeline import align_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zh")
    parser.add_argument("en", nargs="+")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    encoder = load_encoder(args.model)
    quantiles = " ".join(f"q{round(q * 100):02d}" for q in QUANTILES)
    print(f"| English side | beads | score {quantiles} | null beads | null {quantiles} | AUC | unaligned | "
          f"null unaligned | parallel |")
    print("| --- " * 9 + "|")
    for en in args.en:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlignWarning)
            report = align_pair(args.zh, en, model=encoder, progress=False).parallel
        print(f"| {en.rsplit('/', 1)[-1]} | {report.beads} | {' '.join(f'{q:.2f}' for q in report.scores)} | "
              f"{report.null_beads} | {' '.join(f'{q:.2f}' for q in report.null_scores)} | {report.auc:.2f} | "
              f"{report.unaligned:.0%} | {report.null_unaligned:.0%} | {report.parallel} |", flush=True)


if __name__ == "__main__":
    main()
