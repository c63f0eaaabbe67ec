"""Access to the shared sample corpus (``../shared/corpus`` beside the repository).

The corpus is test data of several licenses that the product must not ship:
tests read it in place and skip, saying so, where it is absent (a user's clone).
"""

import os
import unittest
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("FINSYNC_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))


def corpus_file(relative):
    """Bytes of a corpus file; skips the calling test when the corpus is absent."""
    path = CORPUS / relative
    if not CORPUS.is_dir():
        raise unittest.SkipTest(
            f"sample corpus not found at {CORPUS} (it is only beside CI's clone): skipped"
        )
    return path.read_bytes()


def corpus_files(folder, exclude_suffixes=(".expected.json", ".expected.yml", ".expected.pydata")):
    """Names of the input files of a corpus folder (expected-output files left out)."""
    if not CORPUS.is_dir():
        raise unittest.SkipTest(
            f"sample corpus not found at {CORPUS} (it is only beside CI's clone): skipped"
        )
    return sorted(
        path.name
        for path in (CORPUS / folder).iterdir()
        if path.is_file() and not path.name.endswith(exclude_suffixes)
    )
