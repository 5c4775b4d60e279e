module streamer-leakcheck/reference

go 1.19
