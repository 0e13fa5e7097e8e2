module github.com/mynaconform/mynaconform

go 1.26.0
