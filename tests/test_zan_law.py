"""The ZAN trajectory as the law has it, on the Lyon sample with hand-written tables.

Targets as documents, binding verdicts, the full commune guarantee (documents, cutoff, communes
nouvelles, pooling, first decade only), deductions, coherence, completeness. Every expected
figure is computed here from the raw Cerema CSV with pandas, not by calling ocsol.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ocsol.cli import main
from ocsol.errors import SchemaError
from ocsol.pipeline import compute

LYON = Path(__file__).resolve().parents[1] / "data" / "lyon"
EPCI = "200046977"
REF_YEARS = range(2011, 2021)
PERIOD_YEARS = range(2021, 2024)  # flows observed in the sample (2023 provisional)


def flow(y: int) -> str:
    return f"naf{y % 100:02d}art{(y + 1) % 100:02d}"


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """Yearly gross consumption (ha) per commune, straight from the CSV."""
    c = pd.read_csv(LYON / "conso_communes_cerema_format.csv", dtype={"idcom": str}).set_index("idcom")
    return pd.DataFrame({y: c[flow(y)] / 1e4 for y in range(2011, 2024)})


def setup_dir(tmp: Path, zan_block: str, files: dict[str, str], *, conso: str | None = None,
              population: str | None = None) -> Path:
    for f in LYON.iterdir():
        if f.name not in ("ocsol.toml",) and not (conso and f.name == "conso_communes_cerema_format.csv") \
                and not (population and f.name == "population_communes_2009_2023.csv"):
            (tmp / f.name).symlink_to(f)
    if conso:
        (tmp / "conso_communes_cerema_format.csv").write_text(conso, encoding="utf-8")
    if population:
        (tmp / "population_communes_2009_2023.csv").write_text(population, encoding="utf-8")
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    cfg = (LYON / "ocsol.toml").read_text(encoding="utf-8")
    cfg = cfg[: cfg.index("[zan]")] + zan_block
    (tmp / "ocsol.toml").write_text(cfg, encoding="utf-8")
    return tmp / "ocsol.toml"


ZAN = """[zan]
reference = [2011, 2020]
period = [2021, 2030]
targets = "targets.csv"
documents = "documents.csv"
guarantee_deleguees = "deleguees.csv"
mutualisation = "mutualisation.csv"
deductions = "deductions.csv"
decades = [[2031, 2040, 50]]
"""
TARGETS = f"""level,code,target_pct,envelope_ha,document,document_name,doc_status,date,source,note
epci,{EPCI},48,,PLUi,PLU-H,opposable,2019-05-13,délibération,
commune,69123,,5,PLUi,PLU-H secteur Lyon,projet,2025-01-10,,
commune,69029,-10,,PLU,PLU de Bron,opposable,2020-03-01,,hausse autorisée
"""
DELEGUEES = """insee_old,type,insee_chef_lieu,creation_date
69149,commune-deleguee,69149,2024-01-01
69152,commune-deleguee,69149,2024-01-01
69266,commune-deleguee,69266,2009-01-01
69999,commune-deleguee,69266,2009-01-01
"""
DEDUCTIONS = """code,year,type,area_ha,reference,source
69029,2021,pene,5.0,arrêté du 31 mai 2024 annexe I,DDT
69029,2023,pv,0.5,décret 2023-1408 parc X,DDT
69149,2021,other,0.2,délibération 2024-12,commune
69029,2022,renaturation,0.005,friche Y,commune
"""
DED = {("69029", 2021, "pene"): 5.0, ("69029", 2023, "pv"): 0.5, ("69149", 2021, "other"): 0.2,
       ("69029", 2022, "renaturation"): 0.005}


def documents(communes: list[str]) -> str:
    lines = ["code,type,prescription_date,arret_date,approval_date"]
    for c in communes:
        if c == "69199":
            lines.append(f"{c},RNU,,,")
        elif c == "69142":
            lines.append(f"{c},PLU,05/01/2027,,")  # prescribed after the cutoff
        else:
            lines.append(f"{c},PLUi,2015-04-02,2017-06-01,2019-05-13")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def law(tmp_path_factory, raw):
    tmp = tmp_path_factory.mktemp("law")
    files = {"targets.csv": TARGETS, "documents.csv": documents(list(raw.index)), "deleguees.csv": DELEGUEES,
             "mutualisation.csv": f"commune,epci\n69068,{EPCI}\n", "deductions.csv": DEDUCTIONS}
    return compute(setup_dir(tmp, ZAN, files))


def expected(raw: pd.DataFrame) -> pd.DataFrame:
    """Every zan.csv column of the communes and of the EPCI, computed by hand."""
    ref = raw[list(REF_YEARS)].sum(axis=1)
    rows = {}
    for c in raw.index:
        pct, src, doc, status, base = 48.0, f"parent:epci:{EPCI}", "PLUi", "opposable", ref[c] * 0.52
        if c == "69123":
            src, status, base = "own", "projet", 5.0
            pct = (1 - 5.0 / ref[c]) * 100
        elif c == "69029":
            pct, src, doc, base = -10.0, "own", "PLU", ref[c] * 1.10
        g, reason = 1.0, "eligible"
        if c == "69199":
            g, reason = 0.0, "rnu"
        elif c == "69142":
            g, reason = 0.0, "not_eligible"
        elif c == "69149":
            g, reason = 2.0, "commune_nouvelle"  # 1 + 2 × 0.5, created 2024 ≥ 2011, capped at 2
        pooled = 0.0
        if c == "69068":
            pooled, g, reason = max(0.0, 1.0 - base), 0.0, "pooled"
        rows[("commune", c)] = dict(ref=ref[c], pct=pct, src=src, doc=doc, doc_status=status,
                                    binding=(src == "own" and status == "opposable"), base=base, g=g,
                                    reason=reason, pooled=pooled, allowed=max(base, g) if reason != "pooled" else base)
    ref_e = ref.sum()
    rows[("epci", EPCI)] = dict(ref=ref_e, pct=48.0, src="own", doc="PLUi", doc_status="opposable", binding=True,
                                base=ref_e * 0.52, g=np.nan, reason="", pooled=rows[("commune", "69068")]["pooled"],
                                allowed=ref_e * 0.52)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.names = ["level", "code"]
    for t in ("pene", "pv", "other", "renaturation"):
        out[t] = 0.0
    yearly_ded = {}
    for (c, y, t), v in DED.items():
        for key in (("commune", c), ("epci", EPCI)):
            out.loc[key, t] += v
            if t != "renaturation":
                yearly_ded[(key, y)] = yearly_ded.get((key, y), 0.0) + v
    yearly = {("commune", c): raw.loc[c, list(PERIOD_YEARS)] for c in raw.index}
    yearly[("epci", EPCI)] = raw[list(PERIOD_YEARS)].sum()
    for key, series in yearly.items():
        counted = series - pd.Series({y: yearly_ded.get((key, y), 0.0) for y in PERIOD_YEARS})
        out.loc[key, "gross"] = series.sum()
        out.loc[key, "counted"] = counted.sum()
        out.loc[key, "low"] = counted.sum() > 0 and counted.max() > 0.5 * counted.sum()
        allowed, cum, pace, year = out.loc[key, "allowed"], counted.cumsum(), counted.sum() / 3, None
        over = cum[cum > allowed + 1e-9]
        if len(over):
            year = int(over.index[0])
        elif pace > 0:
            y, total = 2023, cum.iloc[-1]
            while total <= allowed + 1e-9:
                y, total = y + 1, total + pace
            year = y if y <= 2030 else None
        out.loc[key, "exhaustion"] = year
    out["pace"] = out["counted"] / 3
    out["projected"] = out["pace"] * 10
    out["reading"] = np.where(out["counted"] > out["allowed"], "exceeded",
                              np.where(out["projected"] > out["allowed"], "will_exceed", "within"))
    return out


def test_every_new_zan_column_against_hand_computation(law, raw):
    z = law["zan"].set_index(["level", "code"])
    exp = expected(raw)
    got = z.loc[exp.index]
    assert len(z.loc["commune"]) == 58
    np.testing.assert_allclose(got["reference_ha"], exp["ref"], atol=1e-9)
    np.testing.assert_allclose(got["target_pct"], exp["pct"], atol=1e-9)
    assert got["target_source"].tolist() == exp["src"].tolist()
    assert got["target_document"].tolist() == exp["doc"].tolist()
    assert got["doc_status"].tolist() == exp["doc_status"].tolist()
    assert got["binding"].tolist() == exp["binding"].tolist()
    np.testing.assert_allclose(got["allowed_before_guarantee_ha"], exp["base"], atol=1e-9)
    np.testing.assert_allclose(got["guarantee_ha"].astype(float), exp["g"].astype(float), atol=1e-9)
    assert got["guarantee_reason"].fillna("").tolist() == exp["reason"].tolist()
    np.testing.assert_allclose(got["pooled_ha"], exp["pooled"], atol=1e-9)
    np.testing.assert_allclose(got["allowed_ha"], exp["allowed"], atol=1e-9)
    assert got["guarantee_applied"].tolist() == (exp["allowed"] > exp["base"] + 1e-12).tolist()
    np.testing.assert_allclose(got["consumed_gross_ha"], exp["gross"], atol=1e-9)
    for t in ("pene", "pv", "other"):
        np.testing.assert_allclose(got[f"deducted_{t}_ha"], exp[t], atol=1e-9)
    assert got["deducted_renaturation_ha"].isna().all()  # count_renaturation = false: not deducted
    np.testing.assert_allclose(got["consumed_counted_ha"], exp["counted"], atol=1e-9)
    np.testing.assert_allclose(got["annual_pace_ha"], exp["pace"], atol=1e-9)
    np.testing.assert_allclose(got["projected_ha"], exp["projected"], atol=1e-9)
    np.testing.assert_allclose(got["used_pct"], exp["counted"] / exp["allowed"] * 100, atol=1e-9)
    np.testing.assert_allclose(got["consumed_since_ha"], exp["counted"], atol=1e-9)
    assert set(got["projection_basis"]) == {"2021–2023 (3 years; 2023 provisional)"}
    assert (got["last_year_observed"] == 2023).all() and got["provisional_included"].all()
    assert got["exhaustion_year"].astype("Float64").tolist() == exp["exhaustion"].astype("Float64").tolist()
    names = {("epci", EPCI): "PLU-H", ("commune", "69123"): "PLU-H secteur Lyon", ("commune", "69029"): "PLU de Bron"}
    assert got["target_document_name"].tolist() == [names.get(k, "PLU-H") for k in exp.index]
    assert got["projection_confidence"].tolist() == np.where(exp["low"], "low", "normal").tolist()
    assert got["complete"].all() and (got["n_missing"] == 0).all()
    status = np.where(exp["binding"], exp["reading"], "")
    indicative = np.where(exp["binding"], "", exp["reading"])
    assert got["status"].fillna("").tolist() == status.tolist()
    assert got["indicative_status"].fillna("").tolist() == indicative.tolist()


def test_qa_states_the_legal_choices(law):
    items = " | ".join(law["qa"]["item"])
    assert "renaturation rows of [zan].deductions not deducted" in items
    assert "assumed eligible" not in items  # a documents table was given


def test_verdict_only_where_a_target_binds(law):
    z = law["zan"].set_index(["level", "code"])
    # a commune inside the PLUi has no target of its own: no status, an indicative reading
    c = z.loc[("commune", "69003")]
    assert c["target_source"] == f"parent:epci:{EPCI}" and c["status"] == "" and c["indicative_status"] != ""
    # the PLUi territory with an opposable target gets one
    assert z.loc[("epci", EPCI), "status"] in ("within", "will_exceed", "exceeded")
    # a commune's own projet binds nothing; the département falls back on the national default
    assert z.loc[("commune", "69123"), "status"] == ""
    d = z.loc[("dep", "69")]
    assert d["target_source"] == "national_default" and d["status"] == "" and not d["binding"]


def test_coherence_of_the_plui(law, raw):
    coh = law["zan_coherence"]
    assert len(coh) == 1
    r = coh.iloc[0]
    exp = expected(raw).loc["commune"]
    base, top = exp["base"].sum(), (exp["allowed"] - exp["base"]).sum()
    total = base + top + exp["pooled"].sum()
    envelope = raw[list(REF_YEARS)].sum().sum() * 0.52
    assert (r["level"], r["code"], r["member_level"], r["n_members"]) == ("epci", EPCI, "commune", 58)
    assert r["n_members_own_target"] == 2
    assert r["members_envelope_ha"] == pytest.approx(base) and r["guarantees_ha"] == pytest.approx(top)
    assert r["pooled_ha"] == pytest.approx(exp["pooled"].sum())
    assert r["total_ha"] == pytest.approx(total) and r["envelope_ha"] == pytest.approx(envelope)
    assert r["difference_ha"] == pytest.approx(total - envelope)
    assert r["flag"] == ("exceeds" if total > envelope else "within")


def test_guarantee_is_a_first_decade_rule_in_the_indicative_path(law, raw):
    path = law["zan_path"]
    curis = path[(path["level"] == "commune") & (path["code"] == "69071")].set_index("year")
    ref = raw.loc["69071", list(REF_YEARS)].sum()  # 1.1058 ha → 0.575 ha, floored at 1 ha
    assert ref * 0.52 < 1.0
    assert curis.loc[2025, "envelope_ha"] == pytest.approx(1.0) and curis.loc[2025, "basis"] == "allowance"
    assert curis.loc[2035, "envelope_ha"] == pytest.approx(ref * 0.52 * 0.5)  # not 0.5 ha
    assert curis.loc[2035, "basis"] == "indicative_enaf" and curis.index.max() == 2040


@pytest.mark.slow
def test_mondiagartif_figures_without_targets(tmp_path):
    res = compute(LYON / "ocsol.toml")
    z = res["zan"].set_index(["level", "code"])
    m = z.loc[("epci", EPCI)]
    assert m["reference_ha"] == pytest.approx(827.7454) and m["allowed_ha"] == pytest.approx(413.8727)
    assert m["target_source"] == "national_default" and m["indicative_status"] == "will_exceed"
    assert set(res["zan"]["status"]) == {""}  # the national default never produces a status
    assert set(res["zan"].loc[res["zan"]["level"] == "commune", "guarantee_reason"]) == {"assumed"}
    assert res["zan_path"]["year"].max() == 2030  # no ENAF envelope after 2031 unless configured
    assert "assumed eligible" in " ".join(res["qa"]["item"])


@pytest.mark.slow
def test_a_commune_missing_from_cerema_flags_its_parents(tmp_path, raw):
    text = (LYON / "conso_communes_cerema_format.csv").read_text(encoding="utf-8").splitlines()
    conso = "\n".join(line for line in text if not line.startswith("69071,")) + "\n"
    pop = (LYON / "population_communes_2009_2023.csv").read_text(encoding="utf-8").splitlines()
    pop_text = "\n".join(line for line in pop if not line.startswith("69003,")) + "\n"
    files = {"targets.csv": f"level,code,target_pct,document,doc_status\nepci,{EPCI},50,PLUi,opposable\n"}
    res = compute(setup_dir(tmp_path, '[zan]\ntargets = "targets.csv"\n', files, conso=conso, population=pop_text))
    z = res["zan"].set_index(["level", "code"])
    assert ("commune", "69071") not in z.index
    e = z.loc[("epci", EPCI)]
    assert not e["complete"] and e["n_missing"] == 1 and e["binding"]
    assert e["status"] == "" and e["indicative_status"] == ""  # no verdict on a partial territory
    assert e["reference_ha"] == pytest.approx(raw.drop("69071")[list(REF_YEARS)].sum().sum())
    assert z.loc[("commune", "69003"), "complete"]
    cons = res["consumption"]
    ep = cons[(cons["level"] == "epci")]
    assert (~ep["complete"]).all() and (ep["n_missing"] == 1).all()
    assert cons.loc[cons["level"] == "commune", "complete"].all()
    eff = res["efficiency"]
    ee = eff[eff["level"] == "epci"]
    assert (~ee["complete"]).all() and (ee["n_missing"] == 2).all()  # 69071 (consumption) + 69003 (population)
    assert ee["m2_per_new_inhabitant"].isna().all()
    assert "missing from the consumption file: no status" in " ".join(res["qa"]["item"])


@pytest.mark.slow
def test_bad_zan_tables_stop_with_one_clear_line(tmp_path, raw, capsys):
    communes = list(raw.index)
    base = {"targets.csv": TARGETS, "documents.csv": documents(communes), "deleguees.csv": DELEGUEES,
            "mutualisation.csv": f"commune,epci\n69068,{EPCI}\n", "deductions.csv": DEDUCTIONS}
    cases = [
        ("deductions.csv", "code,year,type,area_ha,reference\n69123,2021,pene,50,arrêté\n",
         r"69123 2021: 50.0000 ha deducted but 0.0100 ha consumed"),
        ("deductions.csv", "code,year,type,area_ha,reference\n69123,2019,pv,0.001,x\n",
         r"69123 2019: outside the observed flows of the period 2021–2023"),
        ("deductions.csv", "code,year,type,area_ha,reference\n69123,2021,pv,0.001,\n", r"empty reference"),
        ("documents.csv", documents(communes[1:]), rf"no row for commune\(s\) {communes[0]}"),
        ("deleguees.csv", "insee_old,type,insee_chef_lieu\n69149,commune-deleguee,69149\n", r"no creation_date column"),
        ("mutualisation.csv", "commune,epci\n69068,200000000\n", r"commune 69068 is not in a unit 200000000"),
        ("targets.csv", f"level,code,target_pct,period_start,period_end\nepci,{EPCI},50,2021,2031\n",
         r"period 2021–2031 is not \[zan\]\.period 2021–2030"),
        ("targets.csv", f"level,code,target_pct,doc_status\nepci,{EPCI},50,valide\n", r"doc_status 'valide'"),
    ]
    for i, (name, text, message) in enumerate(cases):
        d = tmp_path / str(i)
        d.mkdir()
        out = d / "out"
        code = main(["indicators", "-c", str(setup_dir(d, ZAN, {**base, name: text})), "-o", str(out), "-q"])
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("ocsol: error: "), lines
        assert re.search(message, lines[0]), lines[0]
        assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]


def test_negative_targets_and_envelopes_are_read(tmp_path):
    from ocsol.io.targets import read_targets

    p = tmp_path / "t.csv"
    p.write_text("level,code,target_pct,envelope_ha\ncommune,69029,-25,\ncommune,69123,,12.5\n", encoding="utf-8")
    t = read_targets(p)
    assert t["target_pct"].iloc[0] == -25.0 and t["envelope_ha"].iloc[1] == 12.5
    p.write_text("level,code,target_pct\ncommune,69029,101\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="target_pct '101' is not a number up to 100"):
        read_targets(p)


@pytest.mark.slow
def test_net_targets_reach_zan_2031_through_the_config(tmp_path):
    block = ZAN.split("targets")[0] + """
[[zan.net_targets]]
level = "epci"
code = "200046977"
period = [2031, 2040]
envelope_ha = 120.0
document = "SRADDET"
doc_status = "opposable"
"""
    res = compute(setup_dir(tmp_path, block, {}))
    z = res["zan_2031"].iloc[0]
    assert (z["code"], z["envelope_ha"], z["annual_envelope_ha"], z["horizon"]) == (EPCI, 120.0, 12.0, 2050)
    assert z["status"] == "" and "no OCS GE flows" in z["note"]  # Lyon sample: no OCS GE



def test_target_pct_and_envelope_must_agree(tmp_path, capsys, raw):
    """A row with both a % and hectares: they must agree within 0.01 ha (rounding), else one line, exit 2."""
    ref = float(raw.loc["69029", list(REF_YEARS)].sum())
    agree = round(ref * (1 - 30 / 100), 2)  # a document rounding its hectares to 0.01 ha
    for envelope, ok in ((agree, True), (agree + 0.5, False)):
        d = tmp_path / str(ok)
        d.mkdir()
        targets = (f"level,code,target_pct,envelope_ha,doc_status\nepci,{EPCI},48,,opposable\n"
                   f"commune,69029,30,{envelope},opposable\n")
        files = {"targets.csv": targets, "documents.csv": documents(list(raw.index)), "deleguees.csv": DELEGUEES,
                 "mutualisation.csv": f"commune,epci\n69068,{EPCI}\n", "deductions.csv": DEDUCTIONS}
        code = main(["indicators", "-c", str(setup_dir(d, ZAN, files)), "-o", str(d / "out"), "-q"])
        err = capsys.readouterr().err.strip().splitlines()
        if ok:
            assert code == 0, err
            z = pd.read_csv(d / "out" / "zan.csv", dtype={"code": str})
            assert z.loc[z["code"] == "69029", "allowed_before_guarantee_ha"].iloc[0] == pytest.approx(agree)
        else:
            assert code == 2 and len(err) == 1, err
            assert re.search(r"targets\.csv: commune 69029: target_pct 30 % gives .* but envelope_ha is", err[0]), err
