"""Plain-text tables for evaluation results: model, ConSE and chance side by side."""

KS = ("hit@1", "hit@2", "hit@5", "hit@10")


def _cell(value, std=None):
    if value is None or value != value:  # NaN
        return "   -   "
    return f"{value:.3f}" + (f"±{std:.3f}" if std is not None else "")


def evaluation_table(report, model_label="trained head"):
    """Rows: method x (ZSL, GZSL-unseen, GZSL-seen); columns hit@k, plus H."""
    rows = [("chance", report["baselines"]["chance"], None),
            ("ConSE", report["baselines"]["conse"], report["baselines"]["conse"].get("std")),
            *((f"{key.split('=')[1]} calib.", rep, rep.get("std"))
              for key, rep in report["baselines"].items() if key.startswith("calibration=")),
            (model_label, report, report.get("std"))]
    with_std = report.get("splits", 1) > 1
    width = 13 if with_std else 7
    header = f"{'method':<17}{'setting':<13}" + "".join(f"{k:>{width + 1}}" for k in KS) + f"{'H':>{width + 1}}"
    lines = [header, "-" * len(header)]
    for name, rep, std in rows:
        for setting, key in (("ZSL", "zsl"), ("GZSL unseen", "gzsl_unseen"), ("GZSL seen", "gzsl_seen")):
            cells = []
            for k in KS:
                s = std[key][k] if (with_std and std) else None
                cells.append(f"{_cell(rep[key][k], s):>{width + 1}}")
            h = ""
            if key == "gzsl_seen":
                h = f"{_cell(rep['gzsl_h'], std['gzsl_h'] if (with_std and std) else None):>{width + 1}}"
            lines.append(f"{name if setting == 'ZSL' else '':<17}{setting:<13}" + "".join(cells) + h)
    footer = f"{report.get('splits', 1)} split(s); backbone {report.get('backbone')}; words {report.get('words')}"
    if report.get("heads", 1) > 1:
        footer += f"; {report['heads']} heads averaged"
    if report.get("runs"):
        footer += f"; gamma {[r['gamma'] for r in report['runs']]}"
        footer += f"; label anchor tau {[r.get('anchor', {}).get('tau', 0.0) for r in report['runs']]}"
        footer += f" scope {[r.get('anchor', {}).get('scope', 'all') for r in report['runs']]}"
        folds = [r.get("folds") for r in report["runs"]]
        if all(folds):
            footer += f"; seen-class folds ZSL + H {[round(f['zsl_hit1'] + f['gzsl_h'], 3) for f in folds]}"
        for name in sorted({n for r in report["runs"] for n in r.get("alternatives", {})}):
            # Its anchor and blend too: with gamma alike across runs, they are what can differ.
            picks = [r["alternatives"][name] for r in report["runs"]]
            footer += (f"; {name} calibration's gamma {[p['gamma'] for p in picks]}"
                       f", label anchor tau {[(p.get('anchor') or {}).get('tau', 0.0) for p in picks]}"
                       f", seen blend {[(p.get('blend') or {}).get('alpha_seen') for p in picks]}")
    return "\n".join(lines + [footer])
