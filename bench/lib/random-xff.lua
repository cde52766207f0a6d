-- wrk: every request carries a random X-Forwarded-For, as requests from many clients behind a
-- load balancer would; with sticky: { header } the master keys each connection on its first one.
math.randomseed(os.time())
request = function()
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format(nil)
end
