# Turns scenarios/presets.yaml into a C string `core_presets_yaml`.
file(READ ${IN} TEXT)
string(REPLACE "\\" "\\\\" TEXT "${TEXT}")
string(REPLACE "\"" "\\\"" TEXT "${TEXT}")
string(REPLACE "\n" "\\n\"\n\"" TEXT "${TEXT}")
file(WRITE ${OUT} "/* generated from scenarios/presets.yaml */\nconst char core_presets_yaml[] = \"${TEXT}\";\n")
