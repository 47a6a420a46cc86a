// The JSON Schemas of schemas/ (config files, the event envelope, reports), compiled in at build
// time: a binary needs no schema file at run time, wherever it is installed or copied.
//
// Thread-safety: the functions read immutable data; any thread may call them at any time.
#pragma once

#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::schemas {

// The text of schemas/<file_name> as it was when this binary was built, e.g.
// Get("relay.config.schema.json"). The view stays valid for the life of the process. NotFound,
// naming the files there are, for any other name.
Result<std::string_view> Get(std::string_view file_name);

// The file names Get knows, sorted.
std::vector<std::string_view> Names();

}  // namespace sluice::schemas
