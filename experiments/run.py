"""Run one scenario: `python -m experiments.run [experiment=<name>] [key=value ...]`.

A Hydra application over configs/config.yaml. It runs the model month by month,
writes the run folder (tables as CSV and Parquet, resolved config, provenance, figures)
and prints that folder's path as its last line.

Examples:
  python -m experiments.run                                   # baseline, 100,000 customers
  python -m experiments.run experiment=functional_regulation seed=7
  python -m experiments.run population.size=1000000 switching_cost.scale=0.5
  python -m experiments.run --cfg job                         # print the full config
Scenario presets: configs/experiment/*.yaml; each says which question it answers.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from tqdm import tqdm

from experiments.config import explain, load_config, to_config
from sim.config import ConfigError
from sim.market import MarketModel
from sim.outputs import write_run

log = logging.getLogger("experiments.run")


def simulate(config, folder: Path, show_progress: bool = True) -> Path:
    """Run one configured model and write its folder."""
    started = time.perf_counter()
    model = MarketModel(config)
    with tqdm(total=model.n_months, desc=f"{config.scenario} seed {config.seed}", unit="month",
              disable=None if show_progress else True, file=sys.stderr) as bar:
        model.run(progress=lambda m: bar.update(1))
    return write_run(model, folder, time.perf_counter() - started)


@hydra.main(version_base=None, config_path="../configs", config_name="config")
def app(cfg: DictConfig) -> str:
    logging.getLogger("MESA").setLevel(logging.WARNING)   # Mesa logs every step at INFO
    try:
        config = to_config(cfg)
    except ConfigError as e:
        print(explain(e), file=sys.stderr)
        sys.exit(2)
    folder = Path(HydraConfig.get().runtime.output_dir)
    simulate(config, folder)
    print(folder)
    return str(folder)


def _overrides(argv: list[str]) -> list[str] | None:
    """The config overrides on a plain run, or None where Hydra should handle the arguments itself."""
    if any(a in ("-m", "--multirun", "-h", "--help", "--hydra-help", "-c", "--cfg", "--info",
                 "-i", "--shell-completion", "-sc") or a.startswith(("--cfg", "--info")) for a in argv):
        return None
    return [a for a in argv if not a.startswith("-") and not a.lstrip("+~").startswith("hydra")]


def main() -> None:
    overrides = _overrides(sys.argv[1:])
    if overrides is not None:
        try:
            load_config(overrides)   # refuse bad input before any folder is made
        except Exception as e:  # noqa: BLE001 - every composition failure becomes one line
            print(explain(e, overrides), file=sys.stderr)
            sys.exit(2)
    app()


if __name__ == "__main__":
    main()
