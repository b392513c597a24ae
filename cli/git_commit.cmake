# Run by the build at every build (cli/CMakeLists.txt): writes OUT with the source tree's commit
# for `berth version`, and rewrites it only when the commit changes, so cmd_version.cpp is
# recompiled only then. `--no-optional-locks` keeps it from taking the index lock while a
# commit is being made beside the build.
execute_process(
  COMMAND git --no-optional-locks -C "${SRC}" describe --always --dirty --abbrev=12 --exclude=*
  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
  set(rev "unknown")
endif()
file(WRITE "${OUT}.tmp" "#define BERTH_GIT_COMMIT \"${rev}\"\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
