# Throughput vs concurrency from scripts/bench/report.py --plot-data.
# gnuplot -e "datafile='sweep.dat'; outfile='throughput.png'" plot.gp
set terminal pngcairo size 820,520 font ",10"
set output outfile
set title "GET through nginx on loopback: requests/s vs concurrent clients (2 shared cores)"
set xlabel "concurrent clients (wrk -c)"
set ylabel "requests/s"
set logscale x
set xtics (1, 64, 1000)
set key left top
set grid ytics
set yrange [0:*]
plot for [i=2:8] datafile using 1:i with linespoints lw 2 pt 7 title columnheader(i)
