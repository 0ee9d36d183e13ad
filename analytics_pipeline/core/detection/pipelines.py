"""What to train: :class:`TrainingConfig` (the one home of the hyperparameter defaults), named presets,
and the scikit-learn Pipeline (featurizer + detector) a configuration builds."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sklearn.pipeline import Pipeline

from analytics_pipeline.core.detection.detectors import DETECTOR_NAMES, make_detector
from analytics_pipeline.core.features.featurizer import LogFeaturizer

SPLIT_ON: tuple[str, ...] = ("health", "all")
AUTO = "auto"
# Detectors without a rule of their own for "auto" use the seed's share (one-class SVM's nu, the
# ensemble's quantile).
AUTO_FALLBACK_SHARE = 0.1


def parse_contamination(value: str | float) -> str | float:
    """``contamination`` as people type it: "auto" or a share in (0, 0.5] ("0.1" or 0.1)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return AUTO
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f'contamination must be "auto" or a share in (0, 0.5], got {value!r}') from None
    if isinstance(value, bool) or not 0 < value <= 0.5:
        raise ValueError(f'contamination must be "auto" or a share in (0, 0.5], got {value!r}')
    return float(value)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters; also the MLflow params of a training run.

    The default detector is the multi-view detector (core.detection.multiview) with
    ``contamination="auto"``: each view's own documented boundary decides, so a normal week flags its
    incidents and little else. ``contamination=0.1`` (the seed's value) instead flags that share of the
    training window; ``detector="isolation_forest"`` is the seed's forest (with ``split_on``).
    """

    detector: str = "multi_view"
    n_estimators: int = 100
    max_samples: str | int | float = "auto"
    contamination: str | float = AUTO
    max_features: float = 1.0
    random_state: int = 42
    n_jobs: int = -1
    test_size: float = 0.2
    min_training_samples: int = 100
    # Measured choices (bench/bench_quality.py, README "Quality"): robust scaling within each
    # service; the plain forest ("isolation_forest") splits only on the health features.
    scaler_type: str = "per_service"
    split_on: str = "health"
    max_tfidf_features: int = 50
    top_n_services: int = 10
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.detector not in DETECTOR_NAMES:
            raise ValueError(f"unknown detector {self.detector!r}; valid: {', '.join(DETECTOR_NAMES)}")
        object.__setattr__(self, "contamination", parse_contamination(self.contamination))
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {self.test_size}")
        if self.n_estimators < 1:
            raise ValueError(f"n_estimators must be at least 1, got {self.n_estimators}")
        if self.split_on not in SPLIT_ON:
            raise ValueError(f"split_on must be one of {', '.join(SPLIT_ON)}, got {self.split_on!r}")

    def as_params(self) -> dict[str, Any]:
        params = {k: v for k, v in asdict(self).items() if k != "extra"}
        return {**params, **self.extra}

    @property
    def share(self) -> float:
        """The contamination as a share, for detectors that need one."""
        return AUTO_FALLBACK_SHARE if self.contamination == AUTO else float(self.contamination)


def parse_max_samples(text: str) -> str | int | float:
    """``max_samples`` as people type it: "auto", a row count ("256") or a share ("0.5")."""
    text = text.strip()
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        share = float(text)
    except ValueError:
        raise ValueError(f'max_samples must be "auto", an integer or a share in (0, 1], got {text!r}') from None
    if not 0 < share <= 1:
        raise ValueError(f"max_samples share must be in (0, 1], got {share}")
    return share


# Named configurations, compared side by side by bench/bench_quality.py (README "Quality"):
# "default" is what the platform trains unless told otherwise; "seed" is the seed's plain
# 78-feature forest (global standard scaling, splits on every feature, contamination 0.1);
# "health_forest" the previous default (a forest on the service's latency and error share).
PRESETS: dict[str, TrainingConfig] = {
    "default": TrainingConfig(),
    "seed": TrainingConfig(detector="isolation_forest", contamination=0.1, scaler_type="standard", split_on="all"),
    "health_forest": TrainingConfig(detector="isolation_forest", contamination=0.1),
}


def build_detector(config: TrainingConfig, featurizer: LogFeaturizer) -> Any:
    """The configured detector for ``featurizer``'s output; ``contamination`` is the expected anomaly
    share ("auto": the detector's own rule where it has one)."""
    if config.detector == "multi_view":
        layout = featurizer.layout()
        return make_detector("multi_view", health_columns=layout.health, content_columns=layout.content,
                             level_columns=layout.level, novelty_column=layout.channel("word_novelty"),
                             burst_column=layout.channel("rare_burst"),
                             latency_columns=[layout.rolling("rt_median")],
                             contamination=config.contamination,
                             n_estimators=config.n_estimators, max_samples=config.max_samples,
                             random_state=config.random_state, n_jobs=config.n_jobs)
    if config.detector == "isolation_forest":
        weights = featurizer.health_weights() if config.split_on == "health" else None
        return make_detector("isolation_forest", n_estimators=config.n_estimators,
                             max_samples=config.max_samples, contamination=config.contamination,
                             max_features=config.max_features, random_state=config.random_state,
                             n_jobs=config.n_jobs, feature_weights=weights)
    if config.detector == "one_class_svm":
        return make_detector("one_class_svm", nu=config.share, random_state=config.random_state)
    if config.detector == "local_outlier_factor":
        return make_detector("local_outlier_factor", contamination=config.contamination)
    ensemble = make_detector("ensemble", contamination=config.share)
    return ensemble.set_params(isolation_forest__n_estimators=config.n_estimators,
                               isolation_forest__random_state=config.random_state)


def build_pipeline(config: TrainingConfig) -> Pipeline:
    """Raw logs in, anomaly scores out: ``LogFeaturizer`` (with the novelty channels for the
    multi-view detector) then the detector."""
    featurizer = LogFeaturizer(max_tfidf_features=config.max_tfidf_features, top_n_services=config.top_n_services,
                               scaler_type=config.scaler_type, novelty_channels=config.detector == "multi_view")
    return Pipeline([("features", featurizer), ("detector", build_detector(config, featurizer))])
