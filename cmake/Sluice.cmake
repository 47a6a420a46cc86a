# Helper functions for sluice targets.

include(GNUInstallDirs)
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

# sluice_executable(<name> [INSTALL] SOURCES ... [DEPS ...]): a service or tool binary in
# build/bin/. INSTALL puts it in bin/ of `cmake --install` and of the Debian package. Every one is
# listed in the global property SLUICE_EXECUTABLES (tests/install checks each one's --version).
function(sluice_executable name)
  cmake_parse_arguments(ARG "INSTALL" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  sluice_set_compile_options(${name})
  set_property(GLOBAL APPEND PROPERTY SLUICE_EXECUTABLES ${name})
  if(ARG_INSTALL)
    install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
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

# sluice_kafka_test(<name> [DEPS ...] [LABELS ...] [PROPERTIES ...])
# Like sluice_test, for suites that need a real Kafka broker (sluice/testing/kafka_broker.h).
# gtest_discover_tests runs every test case as its own process, so the broker is a CTest fixture:
#   <name>.broker.start  runs tools/kafka/broker start --data <build>/test-brokers/<name> and
#                        writes the address to <build>/test-brokers/<name>.addr
#   <name>.broker.stop   runs tools/kafka/broker stop (CTest runs cleanup even when tests fail)
# and every discovered test requires the fixture and gets SLUICE_TEST_BROKER_FILE=<that .addr>.
# One broker serves one test binary; run directly (no SLUICE_TEST_BROKER_FILE), the binary starts
# its own. `ctest -R <one test>` pulls in the fixture's setup and cleanup by itself.
function(sluice_kafka_test name)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS;PROPERTIES" ${ARGN})
  set(data_dir ${CMAKE_BINARY_DIR}/test-brokers/${name})
  set(addr_file ${data_dir}.addr)
  set(fixture kafka_broker_${name})
  set(broker ${CMAKE_SOURCE_DIR}/tools/kafka/broker)
  sluice_test(${name} DEPS ${ARG_DEPS} LABELS ${ARG_LABELS}
              PROPERTIES FIXTURES_REQUIRED ${fixture}
                         ENVIRONMENT SLUICE_TEST_BROKER_FILE=${addr_file} ${ARG_PROPERTIES})
  # Stop a broker a killed earlier run may have left in the same data dir, then start afresh; the
  # address file appears only once the broker answers metadata requests.
  add_test(NAME ${name}.broker.start
           COMMAND sh -c "mkdir -p \"$(dirname \"$1\")\" && rm -f \"$2\" && \
\"$0\" stop --data \"$1\" >/dev/null 2>&1; \"$0\" start --data \"$1\" >\"$2.tmp\" && \
mv \"$2.tmp\" \"$2\"" ${broker} ${data_dir} ${addr_file})
  add_test(NAME ${name}.broker.stop COMMAND ${broker} stop --data ${data_dir})
  # The first start may fetch the broker's jars from Maven Central.
  set_tests_properties(${name}.broker.start PROPERTIES FIXTURES_SETUP ${fixture}
                       LABELS "${ARG_LABELS}" TIMEOUT 900)
  set_tests_properties(${name}.broker.stop PROPERTIES FIXTURES_CLEANUP ${fixture}
                       LABELS "${ARG_LABELS}" TIMEOUT 120)
endfunction()

# sluice_embed_files(<target> DIR <dir> GLOB <pattern> NAMESPACE <ns>)
# Adds to <target> a source generated at build time (cmake/SluiceEmbedFiles.cmake) that holds every
# file matching <dir>/<pattern> as bytes; a file added to <dir> re-runs the configure step, a file
# changed regenerates the source.
function(sluice_embed_files target)
  cmake_parse_arguments(ARG "" "DIR;GLOB;NAMESPACE" "" ${ARGN})
  file(GLOB inputs CONFIGURE_DEPENDS ${ARG_DIR}/${ARG_GLOB})
  set(output ${CMAKE_CURRENT_BINARY_DIR}/generated/${target}_embedded_files.cc)
  set(script ${PROJECT_SOURCE_DIR}/cmake/SluiceEmbedFiles.cmake)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DDIR=${ARG_DIR} -DGLOB=${ARG_GLOB} -DNAMESPACE=${ARG_NAMESPACE}
            -DOUTPUT=${output} -P ${script}
    DEPENDS ${inputs} ${script}
    COMMENT "Embedding ${ARG_DIR}/${ARG_GLOB} into ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE ${output})
endfunction()
