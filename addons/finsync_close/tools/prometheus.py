"""The Prometheus text exposition format (version 0.0.4), written by hand: no library."""


def escape_label(value):
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value):
    if value is None:
        return "NaN"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class MetricFamily:
    """One metric: its HELP and TYPE lines, then one sample per label set."""

    def __init__(self, name, kind, help_text):
        self.name, self.kind, self.help_text = name, kind, help_text
        self.samples = []

    def add(self, labels, value):
        self.samples.append((labels, value))

    def render(self):
        help_text = self.help_text.replace("\\", "\\\\").replace("\n", "\\n")
        lines = [f"# HELP {self.name} {help_text}", f"# TYPE {self.name} {self.kind}"]
        for labels, value in self.samples:
            label_text = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels.items())
            lines.append(f"{self.name}{{{label_text}}} {format_value(value)}")
        return "\n".join(lines)
