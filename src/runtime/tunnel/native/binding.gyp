{
  "targets": [
    {
      "target_name": "tun",
      "sources": ["tun.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11"],
      "conditions": [["OS != 'linux'", { "type": "none", "sources": [] }]]
    }
  ]
}
