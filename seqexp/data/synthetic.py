"""Generated records in the exact Jena climate CSV format (for the bundled sample, tests and
benchmarks). Not real weather: smooth seasonal and daily cycles plus autocorrelated noise,
with the 14 physical columns derived consistently enough that forecasting is learnable and
the persistence baseline behaves as on the real record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

JENA_COLUMNS = [
    "Date Time", "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)",
    "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)",
    "max. wv (m/s)", "wd (deg)",
]
JENA_ROWS = 420551  # rows of the real jena_climate_2009_2016.csv


def _ar1(rng: np.random.Generator, n: int, phi: float, scale: float) -> np.ndarray:
    """AR(1) noise, vectorized through an exponential filter in chunks."""
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -phi], rng.normal(0.0, scale, n))


def jena_frame(rows: int, seed: int = 0):
    """A pandas DataFrame of ``rows`` 10-minute records in the Jena layout."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    time = pd.date_range("2009-01-01 00:10:00", periods=rows, freq="10min")
    day = np.arange(rows) / 144.0
    season = np.sin(2 * np.pi * (day - 110) / 365.25)
    daily = np.sin(2 * np.pi * (day % 1.0 - 0.375))
    t = 9.5 + 9.0 * season + 4.0 * daily * (1.2 + 0.5 * season) + _ar1(rng, rows, 0.999, 0.12)
    p = 989.0 + _ar1(rng, rows, 0.9995, 0.25) - 0.1 * t
    depression = np.clip(4.0 + 2.0 * daily + _ar1(rng, rows, 0.998, 0.15), 0.0, None)
    tdew = t - depression

    def vapour(temp):
        return 6.1078 * np.exp(17.27 * temp / (temp + 237.3))

    vpmax, vpact = vapour(t), vapour(tdew)
    sh = 622.0 * vpact / (p - 0.378 * vpact)
    wv = np.abs(1.8 + _ar1(rng, rows, 0.99, 0.3))
    frame = pd.DataFrame({
        "Date Time": time.strftime("%d.%m.%Y %H:%M:%S"),
        "p (mbar)": p,
        "T (degC)": t,
        "Tpot (K)": (t + 273.15) * (1000.0 / p) ** 0.286,
        "Tdew (degC)": tdew,
        "rh (%)": np.clip(100.0 * vpact / vpmax, 0.0, 100.0),
        "VPmax (mbar)": vpmax,
        "VPact (mbar)": vpact,
        "VPdef (mbar)": vpmax - vpact,
        "sh (g/kg)": sh,
        "H2OC (mmol/mol)": 1000.0 * vpact / p,
        "rho (g/m**3)": 100.0 * p / (287.05 * (t + 273.15)) * 1000.0,
        "wv (m/s)": wv,
        "max. wv (m/s)": wv * (1.6 + 0.2 * rng.random(rows)),
        "wd (deg)": (200.0 + _ar1(rng, rows, 0.995, 6.0)) % 360.0,
    })
    return frame[JENA_COLUMNS]


def write_jena_csv(path: str | Path, rows: int = JENA_ROWS, seed: int = 0) -> Path:
    """Write a Jena-format CSV (or a .zip holding ``jena_climate_2009_2016.csv``) to ``path``."""
    path = Path(path)
    frame = jena_frame(rows, seed)
    if path.suffix == ".zip":
        compression = {"method": "zip", "archive_name": "jena_climate_2009_2016.csv"}
    else:
        compression = None
    frame.to_csv(path, index=False, float_format="%.2f", compression=compression,
                 quoting=0, lineterminator="\n")
    _quote_header(path, compression is not None)
    return path


def _quote_header(path: Path, zipped: bool) -> None:
    """The real file quotes every header name ("Date Time","p (mbar)",...); match it."""
    header = ",".join(f'"{c}"' for c in JENA_COLUMNS) + "\n"
    if zipped:
        import zipfile

        with zipfile.ZipFile(path) as zf:
            name = zf.namelist()[0]
            body = zf.read(name).decode().split("\n", 1)[1]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, header + body)
    else:
        body = path.read_text().split("\n", 1)[1]
        path.write_text(header + body)
