"""The progress line of ``gpulogreg fit -v`` on a terminal."""

from __future__ import annotations

import io


class LiveLines(io.TextIOBase):
    """stdout on a terminal during ``fit -v``: the solvers' per-iteration lines ("NAME iter
    ...": iteration, objective, max|gradient|, step, elapsed) rewrite one line in place, a
    progress line; every other line is written as it comes."""

    def __init__(self, stream):
        self.stream, self.live, self.pending = stream, False, ""

    def write(self, text):
        self.pending += text  # print() writes a line and its newline in separate calls
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if " iter " in line:
                self.stream.write("\r\x1b[K" + line)
                self.live = True
                continue
            if self.live:
                self.stream.write("\n")
                self.live = False
            self.stream.write(line + "\n")
        return len(text)

    def flush(self):
        if self.pending:  # a partial line someone flushed: never hold output back
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()
