"""A strict reader of Prometheus' text format (version 0.0.4), for the tests that scrape /metrics:
it refuses what a Prometheus server would refuse, and a little more that duplex-chat never
writes (samples of a family apart, a family without TYPE, a histogram whose buckets disagree).

parse(text) -> {(name, ((label, value), ...)): float}; raises ValueError naming the line."""
import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN)"
SAMPLE = re.compile(rf"({NAME})(?:\{{(.*)\}})? ({VALUE})(?: -?[0-9]+)?")
PAIR = re.compile(rf'({LABEL})="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def labels_of(text, where):
    out, pos = [], 0
    while pos < len(text):
        m = PAIR.match(text, pos)
        if not m:
            raise ValueError(f"{where}: bad labels {text!r}")
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        out.append((m.group(1), value))
        pos = m.end()
    if len({k for k, _ in out}) != len(out):
        raise ValueError(f"{where}: a label given twice")
    return tuple(out)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check_histograms(samples, types):
    for base in (n for n, t in types.items() if t == "histogram"):
        series = {}
        for (name, labels), v in samples.items():
            if name == base + "_bucket":
                rest = tuple(p for p in labels if p[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            if buckets[-1][0] != math.inf or counts != sorted(counts):
                raise ValueError(f"{base}{rest}: buckets not cumulative up to +Inf")
            if samples.get((base + "_count", rest)) != counts[-1] or (base + "_sum", rest) not in samples:
                raise ValueError(f"{base}{rest}: _count differs from the +Inf bucket, or no _sum")


def parse(text):
    if text and not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    samples, types, helps, done, current = {}, {}, set(), set(), None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}"
        if line.startswith("#"):
            m = re.fullmatch(rf"# (HELP|TYPE) ({NAME}) ?(.*)", line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise ValueError(f"{where}: bad {line!r}")
                continue  # a comment
            kind, name, rest = m.groups()
            if current is not None and name != current:
                done.add(current)
                current = None
            if name in done or (kind == "TYPE" and name in types) or (kind == "HELP" and name in helps):
                raise ValueError(f"{where}: {kind} of {name} again, or after its samples")
            if kind == "TYPE":
                if rest not in TYPES:
                    raise ValueError(f"{where}: unknown type {rest!r}")
                types[name] = rest
            else:
                helps.add(name)
            continue
        m = SAMPLE.fullmatch(line)
        if not m:
            raise ValueError(f"{where}: not a sample: {line!r}")
        name, labels = m.group(1), labels_of(m.group(2) or "", where)
        family = family_of(name, types)
        if family not in types:
            raise ValueError(f"{where}: {name} has no TYPE before it")
        if family != current:
            if family in done:
                raise ValueError(f"{where}: samples of {family} are not together")
            if current is not None:
                done.add(current)
            current = family
        if types[family] == "histogram" and name.endswith("_bucket") != ("le" in dict(labels)):
            raise ValueError(f"{where}: le belongs on buckets only")
        if (name, labels) in samples:
            raise ValueError(f"{where}: {name}{labels} given twice")
        samples[(name, labels)] = float(m.group(3).replace("Inf", "inf"))
    check_histograms(samples, types)
    return samples
