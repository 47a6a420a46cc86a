// Progress output for sluice-flood: a live bar on a terminal, plain lines otherwise.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "sluice/flood/runner.h"

namespace sluice::flood {

// "[#########.........]  45.0%  450000/1000000 produced  448000 acked  backlog 12000 ..."
// `width` is the bar's width in characters.
std::string FormatProgressBar(const RunProgress& p, const Sample& s, int width = 30);
// "t=12.0s phase=draining produced=450000 acked=448000 backlog=12000 delivered=... dlq=..."
std::string FormatProgressLine(const RunProgress& p, const Sample& s);

// Writes progress to `out`: a bar redrawn in place ("\r") at every sample when `bar`, else a line
// at most once a second (and at every phase change).
// Messages go on their own lines either way.
// Thread-safety: as ProgressSink (one caller at a time).
std::unique_ptr<ProgressSink> MakeConsoleProgress(std::FILE* out, bool bar);
// Discards everything.
std::unique_ptr<ProgressSink> MakeSilentProgress();

}  // namespace sluice::flood
