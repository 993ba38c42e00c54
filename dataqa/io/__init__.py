"""Reading and writing datasets: every format in, the same format out, nothing changed.

`read` parses a file (or a `datasets` folder, or `hub:NAME`) into a dataframe and a
`Source` that says how it was stored; `write_table` / `write_outputs` write frames back
atomically, as one set when several files belong together; `write_datasetdict` writes
several splits (train, test, quarantine) as one `datasets.DatasetDict` folder.
"""

from dataqa.io.readers import FORMATS, Source, guess_format, read, read_json_file, read_table
from dataqa.io.writers import (
    ROW_ID,
    atomic_write_text,
    datasetdict_writer,
    output_format,
    refuse_overwriting_inputs,
    serialize,
    to_datasetdict,
    write_datasetdict,
    write_outputs,
    write_table,
)

__all__ = [
    "FORMATS",
    "ROW_ID",
    "Source",
    "atomic_write_text",
    "datasetdict_writer",
    "guess_format",
    "output_format",
    "read",
    "read_json_file",
    "read_table",
    "refuse_overwriting_inputs",
    "serialize",
    "to_datasetdict",
    "write_datasetdict",
    "write_outputs",
    "write_table",
]
