# Helper functions for sluice targets.

include(GoogleTest)

# Warnings as errors on our own code only; sanitizers on everything when SLUICE_SANITIZE is set.
function(sluice_set_compile_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(SLUICE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${SLUICE_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${SLUICE_SANITIZE})
  endif()
endfunction()

# sluice_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates target sluice_<name> with alias sluice::<name>; public headers in include/.
function(sluice_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(sluice_${name} STATIC ${ARG_SOURCES})
  add_library(sluice::${name} ALIAS sluice_${name})
  target_include_directories(sluice_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                            PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(sluice_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  sluice_set_compile_options(sluice_${name})
endfunction()

# sluice_executable(<name> SOURCES ... [DEPS ...]): a service or tool binary in build/bin/.
function(sluice_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  sluice_set_compile_options(${name})
endfunction()

# sluice_test(<name> [DEPS ...] [LABELS ...] [PROPERTIES ...])
# One test binary per test folder, built from every *_test.cc in the calling folder and registered
# test by test with CTest through gtest_discover_tests.
function(sluice_test name)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS;PROPERTIES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest)
  if(NOT "GTest::gtest_main" IN_LIST ARG_DEPS AND NOT "sluice::test_main" IN_LIST ARG_DEPS)
    target_link_libraries(${name} PRIVATE GTest::gtest_main)
  endif()
  sluice_set_compile_options(${name})
  set(labels ${ARG_LABELS})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS "${labels}" ${ARG_PROPERTIES})
endfunction()
