#!/usr/bin/env python3
"""Write each built-in task's example dataset: training-data/<task>/training.jsonl and validation.jsonl.

Every task whose data the project generates has a module in scripts/datasets/ (named like its task
module) with ``build() -> (training records, validation records)``, deterministic (seeded), so the
files in the repository are exactly what this script writes. ``--check`` writes nothing and exits 1
when a file differs from what its generator builds (the tests run it).

    .venv/bin/python scripts/make_datasets.py [TASK ...] [--check]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from lambda_reward.runtime.tasks import task_name

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "training-data"
GENERATORS = Path(__file__).resolve().parent / "datasets"


def generators() -> dict[str, Path]:
    """Task name -> generator file, for every module in scripts/datasets/."""
    return {
        task_name(info.name): GENERATORS / f"{info.name}.py"
        for info in pkgutil.iter_modules([str(GENERATORS)])
        if not info.name.startswith("_")
    }


def load_generator(path: Path) -> ModuleType:
    """A generator module by its file (they are scripts beside this one, not an installed package)."""
    spec = importlib.util.spec_from_file_location(f"rft_dataset_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look their module up by name
    spec.loader.exec_module(module)
    return module


def render(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n" for record in records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", metavar="TASK", help="only these tasks (default: every generator)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is not what its generator writes")
    args = parser.parse_args(argv)
    known = generators()
    unknown = sorted(set(args.tasks) - set(known))
    if unknown:
        parser.error(f"no generator for {', '.join(unknown)}; generators: {', '.join(sorted(known))}")
    stale = []
    for name in args.tasks or sorted(known):
        training, validation = load_generator(known[name]).build()
        for file_name, records in (("training.jsonl", training), ("validation.jsonl", validation)):
            path = DATA / name / file_name
            text = render(records)
            if args.check:
                if not path.is_file() or path.read_text(encoding="utf-8") != text:
                    stale.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path.relative_to(ROOT)}: {len(records)} records")
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)} differs from what its generator writes; run scripts/make_datasets.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
