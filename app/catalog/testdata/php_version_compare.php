<?php
// Regenerate: php testdata/php_version_compare.php > testdata/php_version_compare.txt
// Differential vectors for PHP's version_compare: random strings from an
// alphabet that exercises every branch of the canonicaliser and comparer.
mt_srand(20240115);
$atoms = ['0','1','2','9','10','007','99999999999','.','.','.','-','_','+','#','a','b','p','pl','rc','RC','dev','alpha','beta','x','Z','!',"\xc3\xa9",' ','v'];
$out = [];
$fixed = ['1.0','1.0.0','1.0rc1','1.0-beta','1.0pl1','1.','1-','1..0','#1','#','.5','','1.0.#','5#','1.0a','1.0-dev','1.0.0-RC1','1.0.0-rc.1','01.2','1.02'];
$all = $fixed;
for ($i = 0; $i < 4000; $i++) {
  $n = mt_rand(1, 6); $s = '';
  for ($j = 0; $j < $n; $j++) $s .= $atoms[mt_rand(0, count($atoms)-1)];
  $all[] = $s;
}
for ($i = 0; $i < 6000; $i++) {
  $a = $all[mt_rand(0, count($all)-1)];
  $b = (mt_rand(0, 9) == 0) ? $a : $all[mt_rand(0, count($all)-1)];
  $out[] = bin2hex($a) . ' ' . bin2hex($b) . ' ' . version_compare($a, $b) . ' ' . version_compare($b, $a);
}
echo "# a(hex) b(hex) version_compare(a,b) version_compare(b,a), from PHP " . PHP_VERSION . "\n";
echo implode("\n", $out), "\n";
