# Third-party dependencies, all from Debian's packages (tools/bootstrap installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(RapidJSON CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(GTest REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
# jemalloc replaces glibc's malloc in sluice-flood (see tools/flood/CMakeLists.txt).
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)

# RapidJSON's config exports variables, not a target; wrap it so targets can link it by name.
if(NOT TARGET sluice_rapidjson)
  add_library(sluice_rapidjson INTERFACE)
  target_include_directories(sluice_rapidjson SYSTEM INTERFACE ${RapidJSON_INCLUDE_DIRS}
                             ${RAPIDJSON_INCLUDE_DIRS})
  # std::string support in the DOM API.
  target_compile_definitions(sluice_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
  add_library(RapidJSON::RapidJSON ALIAS sluice_rapidjson)
endif()
