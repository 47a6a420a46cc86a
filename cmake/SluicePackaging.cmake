# What `cmake --install` lays out and what the Debian package (CPack DEB) holds:
#   bin/                        the binaries built with sluice_executable(... INSTALL ...)
#   lib/systemd/system/         sluice-relay@.service, sluice-sfsim.service, sluice-gateway.service
#                               (packaging/systemd)
#   share/sluice/examples/      relay.yaml, sfsim.yaml, gateway.yaml, gateway-tokens.yaml (postinst
#                               copies them to /etc/sluice)
#   share/sluice/grafana/       the relay dashboard (compose/grafana/dashboards)
#   share/sluice/prometheus/    the relay's alert rules (compose/prometheus/rules)
#   share/sluice/schemas/       the config and report formats, for reference (the binaries carry
#                               their own copy, compiled in)
#   share/sluice/docs/          README.md and docs/*.md
# `cpack -G DEB` in the build directory writes build/packages/sluice_<version>_<arch>.deb.

set(data_dir ${CMAKE_INSTALL_DATADIR}/sluice)
install(FILES examples/relay.yaml examples/sfsim.yaml examples/gateway.yaml
              examples/gateway-tokens.yaml DESTINATION ${data_dir}/examples)
install(DIRECTORY compose/grafana/dashboards/ DESTINATION ${data_dir}/grafana)
install(FILES compose/prometheus/rules/sluice-relay.rules.yml DESTINATION ${data_dir}/prometheus)
install(DIRECTORY schemas/ DESTINATION ${data_dir}/schemas)
install(FILES README.md DESTINATION ${data_dir}/docs)
install(DIRECTORY docs/ DESTINATION ${data_dir}/docs FILES_MATCHING PATTERN "*.md")

# The units name the binaries by absolute path, so they are written at install time, when the
# prefix is known: `cmake --install --prefix P` gives P/bin/sluice-relay, the package /usr/bin.
# systemd reads units from /usr/lib/systemd/system (and /usr/local/lib/systemd/system).
foreach(unit sluice-relay@.service sluice-sfsim.service sluice-gateway.service)
  set(template ${PROJECT_SOURCE_DIR}/packaging/systemd/${unit}.in)
  set(generated ${PROJECT_BINARY_DIR}/packaging/systemd/${unit})
  install(CODE "
    set(SLUICE_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    set(SLUICE_DATADIR \"\${CMAKE_INSTALL_PREFIX}/${data_dir}\")
    configure_file(\"${template}\" \"${generated}\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\"
         TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES \"${generated}\")")
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "sluice maintainers <sluice@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Kafka to Salesforce relay: no loss, no duplicates, at the rate the org can take")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "sluice-relay drains Kafka topics into the Salesforce REST API with per-key order, retries, an "
    "idempotency store and a dead-letter topic; sluice-dlq inspects and replays the dead-letter "
    "topic; sluice-flood floods topics and measures the drain; sluice-sfsim simulates an org; "
    "sluice-gateway takes events over HTTP and answers 202 once Kafka has them. "
    "systemd units: sluice-relay@NAME (one per /etc/sluice/NAME.yaml), sluice-sfsim and "
    "sluice-gateway.")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debug information stays in the build tree; the package carries stripped binaries.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# dpkg-shlibdeps (dpkg-dev) turns the binaries' shared libraries into Depends (librdkafka1,
# libcurl4, libssl3, libsqlite3-0, ...); postinst needs adduser.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
