{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["udp_batch.c", "answer_table.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11"],
      "conditions": [["OS != 'linux'", { "type": "none", "sources": [] }]]
    }
  ]
}
