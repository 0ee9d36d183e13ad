"""Forecasts for regular time series: model choice by backtest, calibrated intervals, patterns,
capacity, anomaly risk and metric anomalies (usable on any ``pd.Series`` from a notebook)."""
