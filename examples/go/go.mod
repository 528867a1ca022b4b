module aiosexample

go 1.19
