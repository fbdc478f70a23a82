"""The library behind the commands: composing configs, running replicates and studies, storing and
reading their datasets, calibration, comparisons, reports and the dashboard's session.

The commands users run are in `experiments/` (`python -m experiments.<name>`); each parses its
arguments and calls a function here. Nothing here imports a command.
"""
