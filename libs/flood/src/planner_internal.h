// What planner.cc and planner_output.cc share.
#pragma once

#include <string>
#include <vector>

#include "sluice/flood/planner.h"

namespace sluice::flood {

// One sentence per binding limit (collections and bulk) saying what to change, and the choice
// between them.
std::vector<std::string> Advise(const PlanInput& in, const PlanResult& r);

}  // namespace sluice::flood
