"""The code-tests example dataset: small stdin/stdout programming problems from templates.

Each record is in the shape of AWS's Codeforces notebook data (a system prompt asking for a Python
program in a ```python block, the problem as the user prompt with its input and output format and
one example) with its ``test_cases`` as a field of the record (Bedrock passes it to the grader at the
top level or under ``metadata``, where AWS's sample grader reads it; the notebook writes it inside a
``metadata`` object) and a ``reference_answer`` that is a correct answer: the reference program in a
```python block. Every problem has two independent references: a function here that computes each
expected output, and that stdin/stdout program, written separately. ``build`` runs every reference
answer through the code-tests task itself, on every test case, and refuses to write a record whose
answer does not score 1.0, so a wrong expected output (or a grader that disagrees with a plain Python
run) stops the build. The first test case is the prompt's example; the other four are hidden.
"""

from __future__ import annotations

import math
import random
import string
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lambda_reward.runtime.samples import ParsedSample  # noqa: E402
from lambda_reward.runtime.tasks import Deadline, Score, load_task  # noqa: E402

SEED = 20261201
TESTS_PER_PROBLEM = 5
VALIDATION_SIZE = 16
SYSTEM_PROMPT = (
    "You are an expert Python programmer. Solve the problem with a complete Python 3 program that reads "
    "standard input and writes standard output, using only the standard library. Reply with the program "
    "in one ```python code block."
)
WORDS = (
    "apple river stone cloud tiger lemon orbit candle maple pixel harbor violet ember quartz meadow "
    "falcon cobalt willow sonnet garnet lantern breeze copper dune echo fjord glacier hazel iris jade "
    "kiwi lotus mango nectar olive pepper quill rose saffron tulip umber velvet walnut yarrow zephyr "
    "level radar noon kayak civic refer rotor madam stats"
).split()


@dataclass(frozen=True)
class Problem:
    key: str  # unique; seeds the problem's test inputs
    title: str
    statement: str
    input_spec: str
    output_spec: str
    solve: Callable[[str], str]  # input text -> expected output text (without the final newline)
    program: str  # an independent stdin/stdout solution
    make_input: Callable[[random.Random], str]
    edge_inputs: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


def ints(rng: random.Random, low: int = -100, high: int = 100, most: int = 12) -> list[int]:
    return [rng.randint(low, high) for _ in range(rng.randint(1, most))]


def counted(values: list[int]) -> str:
    """n on the first line, the n values on the second."""
    return f"{len(values)}\n{' '.join(map(str, values))}\n"


def counted_input(low: int = -100, high: int = 100, most: int = 12) -> Callable[[random.Random], str]:
    return lambda rng: counted(ints(rng, low, high, most))


def read_counted(text: str) -> list[int]:
    lines = text.split("\n")
    count = int(lines[0])
    values = list(map(int, lines[1].split())) if count else []
    assert len(values) == count
    return values


def sentence(rng: random.Random, most: int = 7) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, most)))


def sentence_input(rng: random.Random) -> str:
    return sentence(rng) + "\n"


def mixed_text_input(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "     "
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))).strip(" ") + "x\n"


def number_input(low: int, high: int) -> Callable[[random.Random], str]:
    return lambda rng: f"{rng.randint(low, high)}\n"


# Input formats, said the same way in every prompt.
COUNTED_SPEC = "The first line holds an integer n (1 <= n <= 12); the second line holds n integers, space-separated."
LINE_SPEC = "One line of lowercase words separated by single spaces."


# ---------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------


def aggregate_problems() -> Iterator[Problem]:
    variants: list[tuple[str, str, Callable[[list[int]], int], str]] = [
        ("sum", "the sum of the integers", sum, "print(sum(values))"),
        ("even-sum", "the sum of the even integers (0 when there are none)", lambda v: sum(x for x in v if x % 2 == 0),
         "print(sum(x for x in values if x % 2 == 0))"),
        ("odd-sum", "the sum of the odd integers (0 when there are none)", lambda v: sum(x for x in v if x % 2),
         "total = 0\nfor x in values:\n    if x % 2 != 0:\n        total += x\nprint(total)"),
        ("square-sum", "the sum of the squares of the integers", lambda v: sum(x * x for x in v),
         "print(sum(x ** 2 for x in values))"),
        ("abs-sum", "the sum of the absolute values of the integers", lambda v: sum(map(abs, v)),
         "print(sum(x if x >= 0 else -x for x in values))"),
        ("alternating-sum", "the alternating sum a1 - a2 + a3 - a4 + ...",
         lambda v: sum(x if i % 2 == 0 else -x for i, x in enumerate(v)),
         "print(sum(values[0::2]) - sum(values[1::2]))"),
        ("maximum", "the largest integer", max,
         "best = values[0]\nfor x in values:\n    best = x if x > best else best\nprint(best)"),
        ("minimum", "the smallest integer", min, "print(sorted(values)[0])"),
        ("range", "the largest integer minus the smallest", lambda v: max(v) - min(v),
         "values.sort()\nprint(values[-1] - values[0])"),
        ("positives", "how many of the integers are positive (greater than 0)", lambda v: sum(x > 0 for x in v),
         "print(len([x for x in values if x > 0]))"),
        ("negatives", "how many of the integers are negative", lambda v: sum(x < 0 for x in v),
         "print(len([x for x in values if x < 0]))"),
        ("zeros", "how many of the integers are 0", lambda v: v.count(0), "print(values.count(0))"),
    ]
    for key, what, function, body in variants:
        low, high = (-3, 3) if key == "zeros" else (-100, 100)
        yield Problem(
            key=f"aggregate-{key}", title=f"Aggregate: {key.replace('-', ' ')}",
            statement=f"Read a list of integers and print {what}.",
            input_spec=COUNTED_SPEC, output_spec="One integer.",
            solve=lambda text, f=function: str(f(read_counted(text))),
            program="n = int(input())\nvalues = list(map(int, input().split()))\n" + body,
            make_input=counted_input(low, high), edge_inputs=("1\n0\n", "3\n-5 -5 -5\n"),
        )


def divisible_problems() -> Iterator[Problem]:
    for k in range(2, 13):
        yield Problem(
            key=f"divisible-by-{k}", title=f"Multiples of {k}",
            statement=f"Read a list of integers and print how many of them are divisible by {k}.",
            input_spec=COUNTED_SPEC, output_spec="One integer.",
            solve=lambda text, k=k: str(sum(x % k == 0 for x in read_counted(text))),
            program=f"input()\nprint(sum(1 for token in input().split() if int(token) % {k} == 0))",
            make_input=counted_input(-60, 60), edge_inputs=(f"2\n0 {k}\n", "1\n1\n"),
        )


def fizzbuzz_problems() -> Iterator[Problem]:
    variants = [(3, 5, "Fizz", "Buzz"), (2, 7, "Foo", "Bar"), (3, 4, "Ping", "Pong"), (4, 6, "Tik", "Tok"),
                (5, 7, "Zig", "Zag"), (2, 3, "Hop", "Skip"), (3, 7, "Bim", "Bam"), (2, 5, "Tick", "Tock")]
    for a, b, first, second in variants:
        def solve(text: str, a: int = a, b: int = b, first: str = first, second: str = second) -> str:
            lines = []
            for i in range(1, int(text) + 1):
                word = (first if i % a == 0 else "") + (second if i % b == 0 else "")
                lines.append(word or str(i))
            return "\n".join(lines)

        yield Problem(
            key=f"fizzbuzz-{a}-{b}", title=f"{first}{second}",
            statement=(f"Read n and print the numbers from 1 to n, one per line, but print {first} instead of a "
                       f"number divisible by {a}, {second} instead of a number divisible by {b}, and "
                       f"{first}{second} instead of a number divisible by both."),
            input_spec="One integer n (1 <= n <= 40).", output_spec="n lines.",
            solve=solve,
            program=(f"n = int(input())\nfor i in range(1, n + 1):\n    if i % {a} == 0 and i % {b} == 0:\n"
                     f"        print('{first}{second}')\n    elif i % {a} == 0:\n        print('{first}')\n"
                     f"    elif i % {b} == 0:\n        print('{second}')\n    else:\n        print(i)"),
            make_input=number_input(1, 40), edge_inputs=("1\n", f"{a * b}\n"),
        )


def string_problems() -> Iterator[Problem]:
    variants: list[tuple[str, str, Callable[[str], str], str, Callable[[random.Random], str]]] = [
        ("reverse", "the line reversed, character by character", lambda s: s[::-1], "print(line[::-1])",
         sentence_input),
        ("upper", "the line in uppercase", str.upper, "print(''.join(chr(ord(c) - 32) if 'a' <= c <= 'z' else c "
                                                      "for c in line))", sentence_input),
        ("swapcase", "the line with the case of every letter swapped", str.swapcase,
         "print(''.join(c.lower() if c.isupper() else c.upper() for c in line))", mixed_text_input),
        ("word-order", "the words in reverse order, separated by single spaces", lambda s: " ".join(s.split()[::-1]),
         "words = line.split()\nwords.reverse()\nprint(' '.join(words))", sentence_input),
        ("each-word", "every word reversed, keeping the words in their order",
         lambda s: " ".join(w[::-1] for w in s.split()), "print(*[word[::-1] for word in line.split()])",
         sentence_input),
        ("no-spaces", "the line with every space removed", lambda s: s.replace(" ", ""),
         "print(''.join(line.split(' ')))", sentence_input),
        ("capitalise", "the line with the first letter of every word in uppercase",
         lambda s: " ".join(w[0].upper() + w[1:] for w in s.split()),
         "print(' '.join(word.capitalize() for word in line.split()))", sentence_input),
        ("no-vowels", "the line with every vowel (a, e, i, o, u) removed",
         lambda s: "".join(c for c in s if c not in "aeiou"),
         "print(line.translate(str.maketrans('', '', 'aeiou')))", sentence_input),
    ]
    for key, what, function, body, make_input in variants:
        spec = LINE_SPEC if make_input is sentence_input else "One line of ASCII letters, digits and spaces."
        yield Problem(
            key=f"string-{key}", title=f"Strings: {key.replace('-', ' ')}",
            statement=f"Read a line of text and print {what}.",
            input_spec=spec, output_spec="One line.",
            solve=lambda text, f=function: f(text.rstrip("\n")),
            program="line = input()\n" + body, make_input=make_input, edge_inputs=("kayak\n",),
        )


def counting_problems() -> Iterator[Problem]:
    variants: list[tuple[str, str, Callable[[str], int], str]] = [
        ("vowels", "vowels (a, e, i, o, u, in either case)", lambda s: sum(c in "aeiouAEIOU" for c in s),
         "print(sum(1 for c in line.lower() if c in 'aeiou'))"),
        ("consonants", "consonants (letters other than a, e, i, o, u, in either case)",
         lambda s: sum(c.isalpha() and c.lower() not in "aeiou" for c in s),
         "print(len([c for c in line if c.isalpha() and c.lower() not in 'aeiou']))"),
        ("digits", "digits", lambda s: sum(c.isdigit() for c in s), "print(sum(c in '0123456789' for c in line))"),
        ("uppercase", "uppercase letters", lambda s: sum(c.isupper() for c in s),
         "print(sum(1 for c in line if 'A' <= c <= 'Z'))"),
    ]
    for letter in "aenorst":
        variants.append((f"letter-{letter}", f"occurrences of the letter {letter} (lowercase only)",
                         lambda s, letter=letter: s.count(letter), f"print(line.count('{letter}'))"))
    for key, what, function, body in variants:
        yield Problem(
            key=f"count-{key}", title=f"Count {key.replace('-', ' ')}",
            statement=f"Read a line of text and print the number of {what} in it.",
            input_spec="One line of ASCII letters, digits and spaces.", output_spec="One integer.",
            solve=lambda text, f=function: str(f(text.rstrip("\n"))),
            program="line = input()\n" + body, make_input=mixed_text_input, edge_inputs=("x\n", "AEIOU aeiou 123\n"),
        )


def yes_no(value: bool) -> str:
    return "YES" if value else "NO"


def palindrome_problems() -> Iterator[Problem]:
    def word_input(rng: random.Random) -> str:
        word = rng.choice(WORDS)
        return (word if rng.random() < 0.5 else word + rng.choice("xyz")) + "\n"

    def mixed_case_input(rng: random.Random) -> str:
        word = rng.choice(WORDS[-9:] + WORDS[:5])
        return "".join(c.upper() if rng.random() < 0.4 else c for c in word) + "\n"

    yield Problem(
        key="palindrome-word", title="Palindrome", statement="Read a word and print YES if it reads the same "
        "backwards, otherwise NO.", input_spec="One lowercase word.", output_spec="YES or NO.",
        solve=lambda text: yes_no(text.strip() == text.strip()[::-1]),
        program="w = input().strip()\nok = all(w[i] == w[-1 - i] for i in range(len(w) // 2))\n"
                "print('YES' if ok else 'NO')",
        make_input=word_input, edge_inputs=("a\n", "ab\n", "noon\n"),
    )
    yield Problem(
        key="palindrome-any-case", title="Palindrome, any case", statement="Read a word and print YES if it reads "
        "the same backwards when upper- and lowercase letters count as equal, otherwise NO.",
        input_spec="One word of ASCII letters.", output_spec="YES or NO.",
        solve=lambda text: yes_no(text.strip().lower() == text.strip().lower()[::-1]),
        program="w = input().strip().casefold()\nprint('YES' if w == ''.join(reversed(w)) else 'NO')",
        make_input=mixed_case_input, edge_inputs=("Aa\n", "Ab\n"),
    )
    yield Problem(
        key="palindrome-number", title="Palindromic number", statement="Read a non-negative integer and print YES "
        "if its decimal digits read the same backwards, otherwise NO.", input_spec="One integer 0 <= n <= 10^9.",
        output_spec="YES or NO.", solve=lambda text: yes_no(text.strip() == text.strip()[::-1]),
        program="n = int(input())\nr, m = 0, n\nwhile m:\n    r, m = r * 10 + m % 10, m // 10\n"
                "print('YES' if r == n else 'NO')",
        make_input=lambda rng: rng.choice([f"{rng.randint(0, 10**6)}\n", _palindromic_number(rng)]),
        edge_inputs=("0\n", "10\n", "12321\n"),
    )


def _palindromic_number(rng: random.Random) -> str:
    half = str(rng.randint(1, 9999))
    return half + half[::-1][rng.randint(0, 1):] + "\n"


def digit_problems() -> Iterator[Problem]:
    def digital_root(n: int) -> int:
        while n >= 10:
            n = sum(map(int, str(n)))
        return n

    variants: list[tuple[str, str, Callable[[int], int], str]] = [
        ("sum", "the sum of its digits", lambda n: sum(map(int, str(n))),
         "total = 0\nwhile n:\n    total += n % 10\n    n //= 10\nprint(total)"),
        ("count", "how many digits it has", lambda n: len(str(n)), "print(len(str(n)))"),
        ("root", "its digital root (sum the digits repeatedly until one digit is left)", digital_root,
         "print(0 if n == 0 else 1 + (n - 1) % 9)"),
        ("reverse", "the number with its digits reversed, without leading zeros", lambda n: int(str(n)[::-1]),
         "r = 0\nwhile n:\n    r = r * 10 + n % 10\n    n //= 10\nprint(r)"),
        ("product", "the product of its digits", lambda n: math.prod(map(int, str(n))),
         "p = 1\nfor d in str(n):\n    p *= int(d)\nprint(p)"),
        ("even-count", "how many of its digits are even", lambda n: sum(int(d) % 2 == 0 for d in str(n)),
         "print(sum(1 for d in str(n) if d in '02468'))"),
    ]
    for key, what, function, body in variants:
        yield Problem(
            key=f"digits-{key}", title=f"Digits: {key.replace('-', ' ')}",
            statement=f"Read a non-negative integer n and print {what}.",
            input_spec="One integer 0 <= n <= 10^12.", output_spec="One integer.",
            solve=lambda text, f=function: str(f(int(text))),
            program="n = int(input())\n" + body, make_input=lambda rng: f"{rng.randint(0, 10 ** rng.randint(1, 12))}\n",
            edge_inputs=("0\n", "1000\n", "987654321\n"),
        )


def number_theory_problems() -> Iterator[Problem]:
    def pair(rng: random.Random) -> str:
        return f"{rng.randint(1, 500)} {rng.randint(1, 500)}\n"

    def primes_to(n: int) -> list[int]:
        return [p for p in range(2, n + 1) if all(p % d for d in range(2, math.isqrt(p) + 1))]

    yield Problem(
        key="gcd", title="Greatest common divisor", statement="Read two positive integers and print their "
        "greatest common divisor.", input_spec="One line with two integers 1 <= a, b <= 500.",
        output_spec="One integer.", solve=lambda text: str(math.gcd(*map(int, text.split()))),
        program="a, b = map(int, input().split())\nwhile b:\n    a, b = b, a % b\nprint(a)",
        make_input=pair, edge_inputs=("12 18\n", "7 7\n", "1 500\n"),
    )
    yield Problem(
        key="lcm", title="Least common multiple", statement="Read two positive integers and print their least "
        "common multiple.", input_spec="One line with two integers 1 <= a, b <= 500.", output_spec="One integer.",
        solve=lambda text: str(math.lcm(*map(int, text.split()))),
        program="a, b = map(int, input().split())\nm = max(a, b)\nwhile m % a or m % b:\n    m += 1\nprint(m)",
        make_input=pair, edge_inputs=("4 6\n", "5 5\n"),
    )
    yield Problem(
        key="gcd-list", title="GCD of a list", statement="Read a list of positive integers and print their greatest "
        "common divisor.", input_spec="The first line holds n (1 <= n <= 12); the second n integers from 1 to 1000.",
        output_spec="One integer.", solve=lambda text: str(math.gcd(*read_counted(text))),
        program="import math\nfrom functools import reduce\ninput()\n"
                "print(reduce(math.gcd, map(int, input().split())))",
        make_input=lambda rng: counted([rng.choice([6, 10, 15]) * rng.randint(1, 60)
                                        for _ in range(rng.randint(1, 6))]),
        edge_inputs=("1\n17\n", "3\n12 18 24\n"),
    )
    yield Problem(
        key="is-prime", title="Prime test", statement="Read an integer n and print YES if it is prime, otherwise NO.",
        input_spec="One integer 1 <= n <= 10^6.", output_spec="YES or NO.",
        solve=lambda text: yes_no(_is_prime(int(text))),
        program="n = int(input())\nok = n > 1\nd = 2\nwhile d * d <= n:\n    if n % d == 0:\n        ok = False\n"
                "    d += 1\nprint('YES' if ok else 'NO')",
        make_input=lambda rng: f"{rng.choice([rng.randint(1, 1000), rng.choice([97, 101, 997, 7919, 104729])])}\n",
        edge_inputs=("1\n", "2\n", "9\n"),
    )
    yield Problem(
        key="count-primes", title="Counting primes", statement="Read n and print how many primes are at most n.",
        input_spec="One integer 1 <= n <= 5000.", output_spec="One integer.",
        solve=lambda text: str(len(primes_to(int(text)))),
        program="n = int(input())\nsieve = [True] * (n + 1)\ncount = 0\nfor i in range(2, n + 1):\n"
                "    if sieve[i]:\n        count += 1\n        for j in range(i * i, n + 1, i):\n"
                "            sieve[j] = False\nprint(count)",
        make_input=number_input(1, 5000), edge_inputs=("1\n", "2\n", "100\n"),
    )
    yield Problem(
        key="nth-prime", title="The n-th prime", statement="Read n and print the n-th prime (the first is 2).",
        input_spec="One integer 1 <= n <= 300.", output_spec="One integer.",
        solve=lambda text: str(primes_to(2000)[int(text) - 1]),
        program="n = int(input())\nfound, k = 0, 1\nwhile found < n:\n    k += 1\n"
                "    if all(k % d for d in range(2, int(k ** 0.5) + 1)):\n        found += 1\nprint(k)",
        make_input=number_input(1, 300), edge_inputs=("1\n", "2\n"),
    )
    yield Problem(
        key="smallest-factor", title="Smallest prime factor", statement="Read an integer n >= 2 and print its "
        "smallest prime factor.", input_spec="One integer 2 <= n <= 10^6.", output_spec="One integer.",
        solve=lambda text: str(min(d for d in range(2, int(text) + 1) if int(text) % d == 0)),
        program="n = int(input())\nd = 2\nwhile n % d:\n    d += 1\n    if d * d > n:\n        d = n\nprint(d)",
        make_input=lambda rng: f"{rng.randint(2, 2000)}\n", edge_inputs=("2\n", "49\n", "997\n"),
    )
    yield Problem(
        key="prime-sum", title="Sum of primes", statement="Read n and print the sum of all primes that are at most n.",
        input_spec="One integer 1 <= n <= 3000.", output_spec="One integer.",
        solve=lambda text: str(sum(primes_to(int(text)))),
        program="n = int(input())\n"
                "print(sum(p for p in range(2, n + 1) if all(p % d for d in range(2, int(p ** 0.5) + 1))))",
        make_input=number_input(1, 3000), edge_inputs=("1\n", "10\n"),
    )
    yield Problem(
        key="collatz", title="Collatz steps", statement="Read a positive integer n. Repeatedly replace n by n / 2 "
        "when it is even and by 3n + 1 when it is odd; print how many replacements it takes to reach 1.",
        input_spec="One integer 1 <= n <= 10^5.", output_spec="One integer.",
        solve=lambda text: str(_collatz(int(text))),
        program="n = int(input())\nsteps = 0\nwhile n != 1:\n    n = 3 * n + 1 if n % 2 else n // 2\n    steps += 1\n"
                "print(steps)",
        make_input=number_input(1, 100_000), edge_inputs=("1\n", "27\n"),
    )
    for a, b in ((3, 5), (2, 7), (4, 6)):
        yield Problem(
            key=f"multiples-{a}-{b}", title=f"Multiples of {a} or {b}",
            statement=f"Read n and print the sum of all positive integers below n divisible by {a} or by {b}.",
            input_spec="One integer 1 <= n <= 10^5.", output_spec="One integer.",
            solve=lambda text, a=a, b=b: str(sum(i for i in range(1, int(text)) if i % a == 0 or i % b == 0)),
            program=(f"n = int(input())\ndef s(k):\n    m = (n - 1) // k\n    return k * m * (m + 1) // 2\n"
                     f"print(s({a}) + s({b}) - s({math.lcm(a, b)}))"),
            make_input=number_input(1, 100_000), edge_inputs=("1\n", "10\n"),
        )


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


def _collatz(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def fibonacci_problems() -> Iterator[Problem]:
    def fib(n: int) -> int:
        a, b = 0, 1
        for _ in range(n):
            a, b = b, a + b
        return a

    for modulus in (10, 1000, 1_000_000_007):
        yield Problem(
            key=f"fibonacci-mod-{modulus}", title=f"Fibonacci modulo {modulus}",
            statement=f"With F(0) = 0, F(1) = 1 and F(n) = F(n-1) + F(n-2), read n and print F(n) modulo {modulus}.",
            input_spec="One integer 0 <= n <= 2000.", output_spec="One integer.",
            solve=lambda text, m=modulus: str(fib(int(text)) % m),
            program=f"n = int(input())\nf = [0, 1]\nfor i in range(2, n + 1):\n"
                    f"    f.append((f[-1] + f[-2]) % {modulus})\nprint(f[n] % {modulus})",
            make_input=number_input(0, 2000), edge_inputs=("0\n", "1\n", "90\n"),
        )
    yield Problem(
        key="tribonacci", title="Tribonacci", statement="With T(0) = 0, T(1) = 0, T(2) = 1 and T(n) = T(n-1) + T(n-2) "
        "+ T(n-3), read n and print T(n).", input_spec="One integer 0 <= n <= 60.", output_spec="One integer.",
        solve=lambda text: str(_tribonacci(int(text))),
        program="n = int(input())\na, b, c = 0, 0, 1\nfor _ in range(n):\n    a, b, c = b, c, a + b + c\nprint(a)",
        make_input=number_input(0, 60), edge_inputs=("0\n", "2\n", "3\n"),
    )


def _tribonacci(n: int) -> int:
    values = [0, 0, 1]
    while len(values) <= n:
        values.append(sum(values[-3:]))
    return values[n]


def sorting_problems() -> Iterator[Problem]:
    variants: list[tuple[str, str, Callable[[list[int]], list[int]], str]] = [
        ("ascending", "the integers in ascending order", sorted, "print(*sorted(values))"),
        ("descending", "the integers in descending order", lambda v: sorted(v, reverse=True),
         "values.sort()\nprint(*values[::-1])"),
        ("unique", "each distinct integer once, in ascending order", lambda v: sorted(set(v)),
         "print(*sorted({x for x in values}))"),
        ("by-absolute", "the integers ordered by absolute value, a negative one before its positive twin",
         lambda v: sorted(v, key=lambda x: (abs(x), x)), "print(*sorted(values, key=lambda x: (x * x, x)))"),
        ("prefix-sums", "the running totals a1, a1 + a2, ..., a1 + ... + an", lambda v: _running(v, sum),
         "import itertools\nprint(*itertools.accumulate(values))"),
        ("running-max", "the running maxima: the largest of the first k integers, for k = 1..n",
         lambda v: _running(v, max),
         "best = None\nout = []\nfor x in values:\n    best = x if best is None or x > best else best\n"
         "    out.append(best)\nprint(*out)"),
    ]
    for key, what, function, body in variants:
        yield Problem(
            key=f"sort-{key}", title=f"Lists: {key.replace('-', ' ')}",
            statement=f"Read a list of integers and print {what}, separated by single spaces.",
            input_spec=COUNTED_SPEC, output_spec="One line of integers.",
            solve=lambda text, f=function: " ".join(map(str, f(read_counted(text)))),
            program="n = int(input())\nvalues = [int(x) for x in input().split()]\n" + body,
            make_input=counted_input(-20, 20), edge_inputs=("1\n5\n", "4\n3 -3 3 -3\n"),
        )
    yield Problem(
        key="kth-smallest", title="k-th smallest", statement="Read a list of integers and k, and print the k-th "
        "smallest integer of the list (counting repeated values separately).",
        input_spec="The first line holds n and k (1 <= k <= n <= 12); the second line n integers.",
        output_spec="One integer.",
        solve=lambda text: str(sorted(map(int, text.split("\n")[1].split()))[int(text.split()[1]) - 1]),
        program="n, k = map(int, input().split())\nprint(sorted(map(int, input().split()))[k - 1])",
        make_input=lambda rng: _kth_input(rng), edge_inputs=("1 1\n7\n", "3 2\n5 5 1\n"),
    )
    yield Problem(
        key="second-largest", title="Second largest", statement="Read a list of integers and print the second largest "
        "distinct value, or NONE when all values are equal.", input_spec=COUNTED_SPEC,
        output_spec="One integer, or NONE.",
        solve=lambda text: (lambda d: str(d[-2]) if len(d) > 1 else "NONE")(sorted(set(read_counted(text)))),
        program="input()\nvalues = set(map(int, input().split()))\nif len(values) < 2:\n    print('NONE')\nelse:\n"
                "    values.remove(max(values))\n    print(max(values))",
        make_input=counted_input(-9, 9), edge_inputs=("1\n4\n", "3\n2 2 2\n", "2\n-1 -2\n"),
    )


def _kth_input(rng: random.Random) -> str:
    values = ints(rng, -50, 50)
    return f"{len(values)} {rng.randint(1, len(values))}\n{' '.join(map(str, values))}\n"


def _running(values: list[int], function: Callable[[list[int]], int]) -> list[int]:
    return [function(values[: i + 1]) for i in range(len(values))]


def table_problems() -> Iterator[Problem]:
    for width in (5, 7, 9, 10, 12, 15, 20):
        yield Problem(
            key=f"times-table-{width}", title=f"Times table to {width}",
            statement=f"Read n and print its multiplication table from 1 to {width}, one line per factor, "
                      f"formatted like '3 x 4 = 12'.",
            input_spec="One integer 1 <= n <= 100.", output_spec=f"{width} lines.",
            solve=lambda text, w=width: "\n".join(f"{int(text)} x {i} = {int(text) * i}" for i in range(1, w + 1)),
            program=f"n = int(input())\nfor i in range(1, {width + 1}):\n    print(n, 'x', i, '=', n * i)",
            make_input=number_input(1, 100), edge_inputs=("1\n",),
        )
    for symbol in "*#+":
        for align in ("left", "right"):
            def solve(text: str, symbol: str = symbol, align: str = align) -> str:
                n = int(text)
                return "\n".join((symbol * i).rjust(n) if align == "right" else symbol * i for i in range(1, n + 1))

            pad = "' ' * (n - i) + " if align == "right" else ""
            yield Problem(
                key=f"triangle-{align}-{ord(symbol)}", title=f"Triangle of {symbol} ({align} aligned)",
                statement=f"Read n and print a {align}-aligned triangle of n lines: line i holds i '{symbol}' "
                          f"characters" + (", padded on the left with spaces to width n." if align == "right" else "."),
                input_spec="One integer 1 <= n <= 20.", output_spec="n lines.", solve=solve,
                program=f"n = int(input())\nfor i in range(1, n + 1):\n    print({pad}'{symbol}' * i)",
                make_input=number_input(1, 20), edge_inputs=("1\n", "3\n"),
            )


def base_problems() -> Iterator[Problem]:
    for base in (2, 3, 5, 7, 8, 16):
        def solve(text: str, base: int = base) -> str:
            n, digits = int(text), ""
            while True:
                n, digit = divmod(n, base)
                digits = "0123456789ABCDEF"[digit] + digits
                if n == 0:
                    return digits

        program = {2: "print(bin(int(input()))[2:])", 8: "print(format(int(input()), 'o'))",
                   16: "print('%X' % int(input()))"}.get(
            base, f"n = int(input())\ns = ''\nwhile True:\n    s = str(n % {base}) + s\n    n //= {base}\n"
                  f"    if n == 0:\n        break\nprint(s)")
        yield Problem(
            key=f"to-base-{base}", title=f"Base {base}",
            statement=f"Read a non-negative integer and print it in base {base}"
                      + (" (digits 0-9 and uppercase A-F)." if base == 16 else "."),
            input_spec="One integer 0 <= n <= 10^9.", output_spec="One line, without leading zeros.",
            solve=solve, program=program, make_input=number_input(0, 10**9), edge_inputs=("0\n", "255\n"),
        )
    yield Problem(
        key="from-binary", title="From binary", statement="Read a binary number and print its value in decimal.",
        input_spec="One line of 1 to 30 binary digits.", output_spec="One integer.",
        solve=lambda text: str(int(text, 2)),
        program="value = 0\nfor bit in input().strip():\n    value = value * 2 + (bit == '1')\nprint(value)",
        make_input=lambda rng: "".join(rng.choice("01") for _ in range(rng.randint(1, 30))) + "\n",
        edge_inputs=("0\n", "1\n", "101\n"),
    )
    yield Problem(
        key="popcount", title="Set bits", statement="Read a non-negative integer and print how many 1 bits its binary "
        "representation has.", input_spec="One integer 0 <= n <= 10^18.", output_spec="One integer.",
        solve=lambda text: str(bin(int(text)).count("1")),
        program="n = int(input())\nc = 0\nwhile n:\n    n &= n - 1\n    c += 1\nprint(c)",
        make_input=lambda rng: f"{rng.randint(0, 10**18)}\n", edge_inputs=("0\n", "7\n", "1024\n"),
    )
    yield Problem(
        key="power-of-two", title="Power of two", statement="Read a positive integer and print YES if it is a power of "
        "two (1 counts), otherwise NO.", input_spec="One integer 1 <= n <= 10^18.", output_spec="YES or NO.",
        solve=lambda text: yes_no(bin(int(text)).count("1") == 1),
        program="n = int(input())\nwhile n % 2 == 0:\n    n //= 2\nprint('YES' if n == 1 else 'NO')",
        make_input=lambda rng: f"{rng.choice([2 ** rng.randint(0, 59), rng.randint(1, 10**6)])}\n",
        edge_inputs=("1\n", "6\n", "1024\n"),
    )


def text_problems() -> Iterator[Problem]:
    yield Problem(
        key="anagram", title="Anagrams", statement="Read two words and print YES if one is an anagram of the other "
        "(the same letters, each as many times), otherwise NO.", input_spec="One line with two lowercase words.",
        output_spec="YES or NO.", solve=lambda text: yes_no(sorted(text.split()[0]) == sorted(text.split()[1])),
        program="from collections import Counter\na, b = input().split()\nprint('YES' if Counter(a) == Counter(b) "
                "else 'NO')",
        make_input=lambda rng: _anagram_input(rng), edge_inputs=("a a\n", "ab ba\n", "ab abb\n"),
    )
    yield Problem(
        key="distinct-letters", title="Distinct characters", statement="Read a line and print how many distinct "
        "characters it contains (a space counts).", input_spec="One line of ASCII letters, digits and spaces.",
        output_spec="One integer.", solve=lambda text: str(len(set(text.rstrip("\n")))),
        program="seen = []\nfor c in input():\n    if c not in seen:\n        seen.append(c)\nprint(len(seen))",
        make_input=mixed_text_input, edge_inputs=("aaaa\n", "ab ab\n"),
    )
    yield Problem(
        key="most-frequent", title="Most frequent letter", statement="Read a line of lowercase words and print the "
        "letter that occurs most often; on a tie, the one first in the alphabet.", input_spec=LINE_SPEC,
        output_spec="One letter.",
        solve=lambda text: min(Counter(text.replace(" ", "").strip()).items(), key=lambda kv: (-kv[1], kv[0]))[0],
        program="line = input().replace(' ', '')\nbest = max(sorted(set(line)), key=line.count)\nprint(best)",
        make_input=sentence_input, edge_inputs=("ba\n", "zzz a\n"),
    )
    yield Problem(
        key="word-count", title="Counting words", statement="Read a line and print how many words it has (words are "
        "separated by one or more spaces).", input_spec="One line of lowercase words and spaces.",
        output_spec="One integer.", solve=lambda text: str(len(text.split())),
        program="import sys\nprint(len(sys.stdin.readline().split()))",
        make_input=lambda rng: "  ".join(sentence(rng).split(" ")) + "\n", edge_inputs=("one\n", "a  b   c\n"),
    )
    yield Problem(
        key="longest-word", title="Longest word", statement="Read a line of words and print the longest one; on a tie, "
        "the first of them.", input_spec=LINE_SPEC, output_spec="One word.",
        solve=lambda text: max(text.split(), key=len),
        program="best = ''\nfor word in input().split():\n    if len(word) > len(best):\n        best = word\n"
                "print(best)",
        make_input=sentence_input, edge_inputs=("ab cd\n",),
    )
    yield Problem(
        key="run-length-encode", title="Run-length encoding", statement="Read a word and print its run-length "
        "encoding: each run of equal letters as the letter followed by the run's length (aaabcc becomes a3b1c2).",
        input_spec="One word of 1 to 30 lowercase letters.", output_spec="One line.",
        solve=lambda text: _rle(text.strip()),
        program="import itertools\n"
                "print(''.join(k + str(len(list(g))) for k, g in itertools.groupby(input().strip())))",
        make_input=lambda rng: "".join(rng.choice("ab") * rng.randint(1, 4) for _ in range(rng.randint(1, 6))) + "\n",
        edge_inputs=("a\n", "aaabcc\n"),
    )
    yield Problem(
        key="run-length-decode", title="Run-length decoding", statement="Read a run-length encoding (each letter "
        "followed by its count, e.g. a3b1c2) and print the word it encodes (aaabcc).",
        input_spec="One line of letters each followed by a count from 1 to 9.", output_spec="One word.",
        solve=lambda text: "".join(text[i] * int(text[i + 1]) for i in range(0, len(text.strip()), 2)),
        program="s = input().strip()\nout = ''\nfor i in range(0, len(s), 2):\n    out += s[i] * int(s[i + 1])\n"
                "print(out)",
        make_input=lambda rng: "".join(rng.choice("xyz") + str(rng.randint(1, 9)) for _ in range(rng.randint(1, 5)))
        + "\n", edge_inputs=("a1\n",),
    )
    yield Problem(
        key="balanced-brackets", title="Balanced brackets", statement="Read a line of brackets ()[]{} and print YES "
        "if they are balanced (every bracket closed by its partner, properly nested), otherwise NO.",
        input_spec="One line of 1 to 20 bracket characters.", output_spec="YES or NO.",
        solve=lambda text: yes_no(_balanced(text.strip())),
        program="s = input().strip()\nprev = None\nwhile prev != s:\n    prev = s\n"
                "    s = s.replace('()', '').replace('[]', '').replace('{}', '')\nprint('YES' if s == '' else 'NO')",
        make_input=lambda rng: _bracket_input(rng), edge_inputs=("()\n", "(]\n", "([]{})\n"),
    )
    for shift in (1, 3, 5, 7, 13, 20):
        yield Problem(
            key=f"caesar-{shift}", title=f"Caesar shift {shift}",
            statement=f"Read a line of lowercase words and print it with every letter shifted {shift} "
                      f"place{'' if shift == 1 else 's'} forward "
                      f"in the alphabet (z wraps around to a); spaces stay.",
            input_spec=LINE_SPEC, output_spec="One line.",
            solve=lambda text, k=shift: "".join(
                chr((ord(c) - 97 + k) % 26 + 97) if c.isalpha() else c for c in text.rstrip("\n")),
            program=f"import string\nabc = string.ascii_lowercase\n"
                    f"table = str.maketrans(abc, abc[{shift}:] + abc[:{shift}])\nprint(input().translate(table))",
            make_input=sentence_input, edge_inputs=("xyz abc\n",),
        )


def _anagram_input(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    letters = list(word)
    rng.shuffle(letters)
    other = "".join(letters) if rng.random() < 0.5 else rng.choice(WORDS)
    return f"{word} {other}\n"


def _rle(word: str) -> str:
    out, index = [], 0
    while index < len(word):
        end = index
        while end < len(word) and word[end] == word[index]:
            end += 1
        out.append(f"{word[index]}{end - index}")
        index = end
    return "".join(out)


def _balanced(text: str) -> bool:
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in pairs:
            if not stack or stack.pop() != pairs[char]:
                return False
        else:
            stack.append(char)
    return not stack


def _bracket_input(rng: random.Random) -> str:
    if rng.random() < 0.5:  # a balanced one, built by nesting and concatenating
        text = ""
        for _ in range(rng.randint(1, 5)):
            opening, closing = rng.choice(["()", "[]", "{}"])
            text = opening + text + closing if rng.random() < 0.5 else text + opening + closing
        return text + "\n"
    return "".join(rng.choice("()[]{}") for _ in range(rng.randint(1, 10))) + "\n"


def misc_problems() -> Iterator[Problem]:
    yield Problem(
        key="fahrenheit", title="Celsius to Fahrenheit", statement="Read a temperature C in degrees Celsius and print "
        "the Fahrenheit value C * 9 / 5 + 32, rounded down to an integer.", input_spec="One integer -100 <= C <= 100.",
        output_spec="One integer.", solve=lambda text: str(math.floor(int(text) * 9 / 5 + 32)),
        program="c = int(input())\nprint((c * 9) // 5 + 32)",
        make_input=number_input(-100, 100), edge_inputs=("0\n", "-1\n", "37\n"),
    )
    yield Problem(
        key="clock", title="Seconds to a clock", statement="Read a number of seconds and print it as H:MM:SS (hours "
        "without padding, minutes and seconds with two digits).", input_spec="One integer 0 <= s < 360000.",
        output_spec="One line.", solve=lambda text: _clock(int(text)),
        program="s = int(input())\nh, rest = divmod(s, 3600)\nm, s = divmod(rest, 60)\nprint(f'{h}:{m:02}:{s:02}')",
        make_input=number_input(0, 359_999), edge_inputs=("0\n", "3599\n", "3600\n"),
    )
    yield Problem(
        key="leap-year", title="Leap year", statement="Read a year and print YES if it is a leap year in the Gregorian "
        "calendar (divisible by 4, except centuries not divisible by 400), otherwise NO.",
        input_spec="One integer 1 <= year <= 9999.", output_spec="YES or NO.",
        solve=lambda text: yes_no(int(text) % 4 == 0 and (int(text) % 100 != 0 or int(text) % 400 == 0)),
        program="import calendar\nprint('YES' if calendar.isleap(int(input())) else 'NO')",
        make_input=lambda rng: _year_input(rng),
        edge_inputs=("1900\n", "2000\n", "2023\n", "2024\n"),
    )
    yield Problem(
        key="triangle-kind", title="Kind of triangle", statement="Read three side lengths and print equilateral, "
        "isosceles or scalene, or invalid when they do not make a triangle (each side must be shorter than the sum "
        "of the other two).", input_spec="One line with three integers from 1 to 20.",
        output_spec="One word.", solve=lambda text: _triangle(sorted(map(int, text.split()))),
        program="a, b, c = sorted(map(int, input().split()))\nif a + b <= c:\n    print('invalid')\n"
                "elif a == c:\n    print('equilateral')\nelif a == b or b == c:\n    print('isosceles')\n"
                "else:\n    print('scalene')",
        make_input=lambda rng: " ".join(str(rng.randint(1, 8)) for _ in range(3)) + "\n",
        edge_inputs=("3 3 3\n", "1 2 3\n", "3 4 5\n", "2 2 3\n"),
    )
    yield Problem(
        key="max-subarray", title="Best stretch", statement="Read a list of integers and print the largest sum of a "
        "non-empty run of consecutive integers.", input_spec=COUNTED_SPEC, output_spec="One integer.",
        solve=lambda text: str(max(sum(v[i:j]) for v in [read_counted(text)] for i in range(len(v))
                                   for j in range(i + 1, len(v) + 1))),
        program="input()\nbest = current = None\nfor x in map(int, input().split()):\n"
                "    current = x if current is None or current < 0 else current + x\n"
                "    best = current if best is None or current > best else best\nprint(best)",
        make_input=counted_input(-10, 10), edge_inputs=("1\n-5\n", "3\n-1 -2 -3\n"),
    )
    yield Problem(
        key="longest-rising-run", title="Longest rising run", statement="Read a list of integers and print the length "
        "of the longest run of consecutive integers where each is greater than the one before.",
        input_spec=COUNTED_SPEC, output_spec="One integer.", solve=lambda text: str(_rising(read_counted(text))),
        program="input()\nv = list(map(int, input().split()))\nbest = run = 1\nfor i in range(1, len(v)):\n"
                "    run = run + 1 if v[i] > v[i - 1] else 1\n    best = max(best, run)\nprint(best)",
        make_input=counted_input(0, 9), edge_inputs=("1\n4\n", "4\n1 2 3 4\n", "3\n3 3 3\n"),
    )
    yield Problem(
        key="inversions", title="Inversions", statement="Read a list of integers and print how many pairs i < j have "
        "a_i > a_j.", input_spec=COUNTED_SPEC, output_spec="One integer.",
        solve=lambda text: str(sum(x > y for v in [read_counted(text)] for i, x in enumerate(v) for y in v[i + 1:])),
        program="input()\nv = list(map(int, input().split()))\ncount = 0\nfor i in range(len(v)):\n"
                "    for j in range(i + 1, len(v)):\n        count += v[i] > v[j]\nprint(count)",
        make_input=counted_input(0, 20), edge_inputs=("1\n1\n", "3\n3 2 1\n"),
    )
    yield Problem(
        key="pair-sums", title="Pairs with a sum", statement="Read a list of integers and a target t, and print how "
        "many pairs i < j have a_i + a_j = t.", input_spec="The first line holds n and t (1 <= n <= 12); the second "
        "line n integers.", output_spec="One integer.", solve=lambda text: str(_pairs(text)),
        program="from itertools import combinations\nn, t = map(int, input().split())\n"
                "print(sum(1 for a, b in combinations(map(int, input().split()), 2) if a + b == t))",
        make_input=lambda rng: _pairs_input(rng), edge_inputs=("1 2\n1\n", "4 0\n1 -1 1 -1\n"),
    )
    for rows, cols in ((2, 3), (3, 3)):
        yield Problem(
            key=f"transpose-{rows}x{cols}", title=f"Transpose a {rows}x{cols} matrix",
            statement=f"Read a {rows}x{cols} matrix (one row per line) and print its transpose, one row per line, "
                      f"values separated by single spaces.",
            input_spec=f"{rows} lines of {cols} integers.", output_spec=f"{cols} lines of {rows} integers.",
            solve=lambda text: "\n".join(" ".join(col) for col in zip(*(line.split() for line in text.split("\n")
                                                                          if line.strip()), strict=True)),
            program=f"m = [input().split() for _ in range({rows})]\nfor c in range({cols}):\n"
                    f"    print(' '.join(m[r][c] for r in range({rows})))",
            make_input=lambda rng, r=rows, c=cols: "".join(
                " ".join(str(rng.randint(-9, 9)) for _ in range(c)) + "\n" for _ in range(r)),
        )
    for what, axis in (("row", 0), ("column", 1)):
        yield Problem(
            key=f"{what}-sums", title=f"{what.capitalize()} sums",
            statement=f"Read a matrix and print the sum of each {what}, separated by single spaces.",
            input_spec="The first line holds r and c (1 <= r, c <= 6); then r lines of c integers.",
            output_spec="One line of integers.", solve=lambda text, a=axis: _matrix_sums(text, a),
            program="r, c = map(int, input().split())\nm = [list(map(int, input().split())) for _ in range(r)]\n"
                    + ("print(*[sum(row) for row in m])" if axis == 0 else "print(*[sum(col) for col in zip(*m)])"),
            make_input=_matrix_input, edge_inputs=("1 1\n5\n",),
        )


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _year_input(rng: random.Random) -> str:
    """Any year, a multiple of 4 or a century, equally often."""
    return f"{rng.choice([rng.randint(1, 9999), 4 * rng.randint(1, 2499), 100 * rng.randint(1, 99)])}\n"


def _triangle(sides: list[int]) -> str:
    a, b, c = sides
    if a + b <= c:
        return "invalid"
    return {1: "equilateral", 2: "isosceles", 3: "scalene"}[len({a, b, c})]


def _rising(values: list[int]) -> int:
    best = 0
    for start in range(len(values)):
        end = start + 1
        while end < len(values) and values[end] > values[end - 1]:
            end += 1
        best = max(best, end - start)
    return best


def _pairs(text: str) -> int:
    first, second = text.split("\n")[:2]
    target = int(first.split()[1])
    values = list(map(int, second.split()))
    return sum(values[i] + values[j] == target for i in range(len(values)) for j in range(i + 1, len(values)))


def _pairs_input(rng: random.Random) -> str:
    values = ints(rng, -5, 5)
    return f"{len(values)} {rng.randint(-4, 4)}\n{' '.join(map(str, values))}\n"


def _matrix_input(rng: random.Random) -> str:
    rows, cols = rng.randint(1, 6), rng.randint(1, 6)
    lines = [" ".join(str(rng.randint(-9, 9)) for _ in range(cols)) for _ in range(rows)]
    return f"{rows} {cols}\n" + "\n".join(lines) + "\n"


def _matrix_sums(text: str, axis: int) -> str:
    lines = text.strip().split("\n")
    matrix = [list(map(int, line.split())) for line in lines[1:]]
    sums = [sum(row) for row in matrix] if axis == 0 else [sum(column) for column in zip(*matrix, strict=True)]
    return " ".join(map(str, sums))


def all_problems() -> list[Problem]:
    problems = [
        *aggregate_problems(), *divisible_problems(), *fizzbuzz_problems(), *string_problems(),
        *counting_problems(), *palindrome_problems(), *digit_problems(), *number_theory_problems(),
        *fibonacci_problems(), *sorting_problems(), *table_problems(), *base_problems(), *text_problems(),
        *misc_problems(),
    ]
    keys = [problem.key for problem in problems]
    assert len(keys) == len(set(keys)), "problem keys must be unique"
    return problems


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


def make_test_cases(problem: Problem) -> list[dict[str, str]]:
    """The example (a random input) and four more: edge cases first, random ones after, no input twice; drawn
    again (a few times) until the outputs are not all alike."""
    rng = random.Random(f"{SEED}:{problem.key}")
    for _ in range(20):
        inputs = [problem.make_input(rng)]
        for candidate in [*problem.edge_inputs, *(problem.make_input(rng) for _ in range(200))]:
            if len(inputs) == TESTS_PER_PROBLEM:
                break
            if candidate not in inputs:
                inputs.append(candidate)
        cases = [{"input": text, "output": problem.solve(text) + "\n"} for text in inputs]
        if len({case["output"] for case in cases}) > 1:
            return cases
    raise AssertionError(f"{problem.key}: could not draw test cases with different outputs")


def record(problem: Problem) -> dict[str, Any]:
    cases = make_test_cases(problem)
    example = cases[0]
    prompt = (
        f"## {problem.title}\n\n{problem.statement}\n\n### Input\n{problem.input_spec}\n\n"
        f"### Output\n{problem.output_spec}\n\n### Example\nInput:\n```\n{example['input'].rstrip()}\n```\n"
        f"Output:\n```\n{example['output'].rstrip()}\n```"
    )
    return {
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
        "test_cases": cases,
        "reference_answer": f"```python\n{problem.program}\n```",
    }


def verify(problems: list[Problem], records: list[dict[str, Any]]) -> None:
    """Every record is valid for the task, and its reference program passes every test case in the task's sandbox."""
    task = load_task("code-tests")
    for problem, item in zip(problems, records, strict=True):
        problems_found = task.check_record(item)
        assert not problems_found, f"{problem.key}: {problems_found}"
    samples = [  # each answered with its reference answer, the program; the test cases where Bedrock may put them
        ParsedSample(problem.key, item["reference_answer"], item["messages"][-1]["content"],
                     {"reference_answer": item["reference_answer"]}, {"test_cases": item["test_cases"]})
        for problem, item in zip(problems, records, strict=True)
    ]
    scores = task.score_batch(samples, Deadline())
    failed = [(problem.key, score) for problem, score in zip(problems, scores, strict=True)
              if not (isinstance(score, Score) and score.reward == 1.0)]
    assert not failed, f"reference programs that do not pass their own test cases: {failed}"


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    problems = all_problems()
    random.Random(SEED).shuffle(problems)
    records = [record(problem) for problem in problems]
    verify(problems, records)
    return records[VALIDATION_SIZE:], records[:VALIDATION_SIZE]
