# Turns schema.sql into a C string `res_schema_sql`.
file(READ ${IN} SQL)
string(REPLACE "\\" "\\\\" SQL "${SQL}")
string(REPLACE "\"" "\\\"" SQL "${SQL}")
string(REPLACE "\n" "\\n\"\n\"" SQL "${SQL}")
file(WRITE ${OUT} "/* generated from schema.sql */\nconst char res_schema_sql[] = \"${SQL}\";\n")
