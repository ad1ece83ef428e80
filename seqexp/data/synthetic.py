"""Generated records in the exact Jena climate CSV format (for the bundled sample, tests and
benchmarks). Not real weather, but weather-like, so that forecasting has the real record's
shape: persistence is a strong baseline, and a model that reads the other columns can beat it.

The dynamics, at 10-minute steps:

* a seasonal cycle (coldest mid-January) and a diurnal cycle (warmest mid-afternoon) whose
  amplitude is larger in summer and damped under cloud;
* weather fronts: a smooth latent advection process (warm air from the south-west when
  positive, cold air from the north-west when negative, a few days per front). The wind
  direction and speed, the humidity, the cloud and the pressure tendency answer to it at once;
  the temperature follows about half a day later. That lead is the signal beyond persistence
  that the book's GRU exploits on the real record;
* slow anomalies (weeks) and autocorrelated sensor noise that no model can forecast.

The other columns are derived from T, p and rh with the formulas that relate them in the real
record: Magnus's saturation vapour pressure (VPmax, VPact, VPdef, Tdew), specific humidity,
water vapour concentration, air density and potential temperature.
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
ROWS_PER_DAY = 144  # 10-minute steps
FRONT_LEAD_H = 12  # hours by which the fronts' wind, humidity and pressure lead temperature


def _ar1(rng: np.random.Generator, n: int, hours: float, std: float) -> np.ndarray:
    """Stationary AR(1) noise with an e-folding time of ``hours`` and standard deviation
    ``std`` (an exponential filter over white noise, vectorized by scipy)."""
    from scipy.signal import lfilter

    phi = np.exp(-1.0 / (hours * ROWS_PER_DAY / 24.0))
    start = rng.normal(0.0, std)
    noise = rng.normal(0.0, std * np.sqrt(1.0 - phi * phi), n)
    return lfilter([1.0], [1.0, -phi], noise, zi=[phi * start])[0]


def _relax(signal: np.ndarray, hours: float) -> np.ndarray:
    """The response of a quantity that relaxes with e-folding time ``hours`` while ``signal``
    drives it (a leaky integrator), scaled back to unit standard deviation."""
    from scipy.signal import lfilter

    phi = np.exp(-1.0 / (hours * ROWS_PER_DAY / 24.0))
    out = lfilter([1.0], [1.0, -phi], signal)
    return (out - out.mean()) / out.std()


def _vapour_pressure(temp_c: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure in mbar over water (Magnus)."""
    return 6.1078 * np.exp(17.27 * temp_c / (temp_c + 237.3))


def _dew_point(vp_mbar: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_vapour_pressure`."""
    g = np.log(vp_mbar / 6.1078)
    return 237.3 * g / (17.27 - g)


def jena_frame(rows: int, seed: int = 0):
    """A pandas DataFrame of ``rows`` 10-minute records in the Jena layout, from
    01.01.2009 00:10:00 on."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    time = pd.date_range("2009-01-01 00:10:00", periods=rows, freq="10min")
    day = (np.arange(rows) + 1) / ROWS_PER_DAY  # days since 01.01.2009 00:00
    hour = (day % 1.0) * 24.0
    season = -np.cos(2 * np.pi * (day - 15.0) / 365.25)  # -1 mid-January, +1 mid-July
    daily = np.cos(2 * np.pi * (hour - 15.0) / 24.0)  # +1 at 15:00, -1 at 03:00

    # Fronts: smooth latent advection, a few days each (two leaky integrators of noise).
    advection = _relax(_relax(rng.normal(size=rows), 18.0), 18.0)
    lag = FRONT_LEAD_H * ROWS_PER_DAY // 24
    lagged = np.concatenate([np.full(lag, advection[0]), advection[:-lag]])
    synoptic = _relax(lagged, 60.0)  # temperature follows the advection with a lag
    cloud = 1.0 / (1.0 + np.exp(-(1.6 * advection + _ar1(rng, rows, 8.0, 1.0))))

    amplitude = (3.0 + 1.8 * season) * (1.25 - 0.9 * cloud)
    t = (9.5 + 9.0 * season + 3.5 * synoptic + _ar1(rng, rows, 15 * 24.0, 2.0)
         + amplitude * daily + _ar1(rng, rows, 2.0, 0.35))

    pressure_fall = _relax(advection, 36.0)  # pressure falls while warm air comes in
    p = (989.0 - 6.0 * pressure_fall + _ar1(rng, rows, 5 * 24.0, 4.0)
         + 0.5 * np.sin(4 * np.pi * hour / 24.0) + _ar1(rng, rows, 1.0, 0.08))

    rh = np.clip(76.0 - 6.0 * season + 9.0 * np.tanh(advection) + 8.0 * (cloud - 0.5)
                 - 2.6 * amplitude * daily + _ar1(rng, rows, 6.0, 5.0), 12.0, 100.0)

    vpmax = _vapour_pressure(t)
    vpact = vpmax * rh / 100.0
    speed = np.abs(1.6 + 0.9 * np.abs(advection) + 0.4 * (daily + 1.0)
                   + _ar1(rng, rows, 3.0, 0.7))
    direction = (245.0 - 55.0 * np.tanh(advection) + _ar1(rng, rows, 4.0, 25.0)) % 360.0
    frame = pd.DataFrame({
        "Date Time": time.strftime("%d.%m.%Y %H:%M:%S"),
        "p (mbar)": p,
        "T (degC)": t,
        "Tpot (K)": (t + 273.15) * (1000.0 / p) ** 0.286,
        "Tdew (degC)": _dew_point(vpact),
        "rh (%)": rh,
        "VPmax (mbar)": vpmax,
        "VPact (mbar)": vpact,
        "VPdef (mbar)": vpmax - vpact,
        "sh (g/kg)": 622.0 * vpact / (p - 0.378 * vpact),
        "H2OC (mmol/mol)": 1000.0 * vpact / p,
        "rho (g/m**3)": 100.0 * p / (287.05 * (t + 273.15)) * 1000.0,
        "wv (m/s)": speed,
        "max. wv (m/s)": speed * (1.5 + 0.4 * rng.random(rows)),
        "wd (deg)": direction,
    })
    return frame[JENA_COLUMNS]


def write_jena_csv(path: str | Path, rows: int = JENA_ROWS, seed: int = 0) -> Path:
    """Write a Jena-format CSV (or a .zip holding ``jena_climate_2009_2016.csv``) to ``path``.

    The same ``rows`` and ``seed`` give the same bytes (the zip entry has a fixed date)."""
    import zipfile

    path = Path(path)
    body = jena_frame(rows, seed).to_csv(index=False, header=False, float_format="%.2f",
                                         lineterminator="\n")
    # the real file quotes every header name: "Date Time","p (mbar)",...
    text = ",".join(f'"{c}"' for c in JENA_COLUMNS) + "\n" + body
    if path.suffix != ".zip":
        path.write_text(text)
        return path
    entry = zipfile.ZipInfo("jena_climate_2009_2016.csv", date_time=(2017, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(entry, text, compresslevel=9)
    return path
