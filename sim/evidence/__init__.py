"""The observed facts the model is judged against: `data/observations.csv` (`observations`) and
the fitted targets with their standard errors, `data/targets.csv` (`targets`)."""
